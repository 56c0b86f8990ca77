// foretell dashboard: draws the performance, steers the engine, and is a small instrument itself.
//
// The page's entry module: it reads the engine's messages (shared/messages.js declares them),
// keeps each instrument's events, follows the focus and draws every frame. A user event's "from"
// names its source (pad, osc, midi, serial, websocket): its colour. An ensemble adds
// "instrument": NAME to events in and out and to commands, {"ensemble": {..}} frames (one strip
// each, see strips.js) and {"select": NAME}: the instrument the page looks at (its focus: the
// pad plays it, the synth sounds it, the panel and XY view show and steer it).
// The parts: page.js (state, clock), connection.js (the socket), lanes.js and views.js
// (drawing), pad.js, synth.js, controls.js and panel.js (the side panel), strips.js (ensembles).
import { $ } from "./shared/dom.js";
import { kindOf, movedOf, ORIGINS } from "./shared/messages.js";
import { commandTo, connect, forgetTokenInAddress, send } from "./connection.js";
import {
  applySettings,
  bindSlider,
  buildModeButtons,
  loadPresets,
  reflectSlider,
  refreshModels,
  setupControls,
  showConstraints,
} from "./controls.js";
import { drawActivity, drawLanes, updateCountdown } from "./lanes.js";
import {
  controlCount,
  expectBase,
  isEnsemble,
  KEEP,
  MAX_EVENTS,
  page,
  syncClock,
  toast,
  trackOf,
} from "./page.js";
import { drawPad, padTick, setupPad } from "./pad.js";
import { noteChanges, showPaused, showState } from "./panel.js";
import * as stripsView from "./strips.js";
import { synth } from "./synth.js";
import { drawRhythm, drawXY } from "./views.js";

// -- messages in -----------------------------------------------------------------------------

/** @param {Record<string, any>} message */
function receive(message) {
  switch (kindOf(message)) {
    case "interface":
      addEvent(ORIGINS.includes(message.from) ? message.from : "other", message.interface, message);
      break;
    case "prediction":
      addEvent("model", message.prediction, message);
      break;
    case "state":
      onState(message.state);
      break;
    case "expect":
      onExpect(message.expect);
      break;
    case "ensemble":
      onEnsemble(message.ensemble);
      break;
    case "hello":
      onHello(message.hello);
      break;
    case "settings":
      applySettings(message.settings);
      break;
    case "error":
      toast(message.error);
      break;
  }
}

function onExpect(expect) {
  if (expect === null || expect.instrument === page.focus) page.expect = expect;
}

/**
 * @param {string} origin "model", or the user event's source (pad, osc, ...)
 * @param {number[]} values
 * @param {import("./shared/messages.js").EventMessage} message
 */
function addEvent(origin, values, message) {
  const source = origin === "model" ? "model" : "user";
  const name = message.instrument ?? page.focus;
  const track = trackOf(name);
  const events = track.events;
  events.push({ source, origin, v: values, t: message.t, dt: message.dt, moved: movedOf(message) });
  track.counts[source] += 1;
  if (name === page.focus) synth.play(source, values);
  const old = (/** @type {number} */ drop) =>
    events.length - drop > MAX_EVENTS || events[drop].t < message.t - KEEP;
  if (old(0)) {
    let drop = 0;
    while (drop < events.length && old(drop)) drop += 1;
    events.splice(0, drop);
  }
}

/** @param {import("./shared/messages.js").Hello} hello */
function onHello(hello) {
  page.hello = hello;
  loadPresets(hello.presets || {});
  page.instruments = hello.instruments || [hello.instrument];
  for (const name of page.instruments) trackOf(name);
  const ensemble = isEnsemble();
  document.body.classList.toggle("ensemble", ensemble);
  buildModeButtons(hello.modes);
  if (ensemble) {
    strips = stripsView.build($("strips"), page.instruments, hello.modes, stripUI);
    if (compactChosen !== null) strips.setCompact(compactChosen); // the user's choice stands
    if (page.settings.length) applySettings(page.settings); // the new strips' sliders
    showLayout();
    buildFocusChoice(page.instruments);
  }
  const previous = page.focus;
  showFocus(hello.instrument);
  if (previous !== null && previous !== hello.instrument && page.instruments.includes(previous)) {
    setFocus(previous); // reconnected: look at the same instrument as before
  }
  refreshModels();
}

// -- the focus: the instrument the pad plays, the synth sounds and the panel steers ----------

let strips = null; // the ensemble's strips (strips.js), once a hello names several instruments
let compactChosen = null; // the layout picked with the toggle; null: by the ensemble's size

function showLayout() {
  page.compact = strips.compact;
  document.body.classList.toggle("compact", page.compact);
  const button = $("compact");
  button.textContent = page.compact ? "compact" : "full";
  button.classList.toggle("on", page.compact);
  button.title = page.compact
    ? "compact rows: click for full strips"
    : "full strips: click for compact rows";
}

function toggleLayout() {
  if (!strips) return;
  compactChosen = !strips.compact;
  strips.setCompact(compactChosen);
  showLayout();
}

/** @param {string} name */
function showFocus(name) {
  const track = trackOf(name);
  page.focus = name;
  page.events = track.events;
  page.counts = track.counts;
  stateCount = 0; // show the new focus's state as soon as it comes
  page.marks = []; // the marks were the previous focus's
  $("focus").value = name;
  $("focus-name").textContent = isEnsemble() ? name : "";
  if (strips) strips.setFocus(name);
}

/** @param {string} name */
function setFocus(name) {
  if (name === page.focus || !page.instruments.includes(name)) return;
  showFocus(name);
  page.expect = null;
  send({ select: name });
  refreshModels();
}

/** @param {string[]} names */
function buildFocusChoice(names) {
  const select = $("focus");
  select.replaceChildren(...names.map((name) => new Option(name, name)));
  select.onchange = () => setFocus(select.value);
}

function onEnsemble(ensemble) {
  page.ensemble = ensemble;
  syncClock(ensemble.now);
  if (strips) strips.update(ensemble.instruments);
}

// -- the state -------------------------------------------------------------------------------

let stateCount = 0;

/** @param {import("./shared/messages.js").State} state */
function onState(state) {
  syncClock(state.now);
  if (state.instrument !== page.focus) return; // from before a change of focus
  noteChanges(page.state, state);
  const pausedNow = Boolean(page.state?.paused) !== state.paused;
  page.state = state;
  if (pausedNow) showPaused(state);
  stateCount += 1;
  reflectSlider($("pitemp"), state.pi_temp);
  reflectSlider($("sigmatemp"), state.sigma_temp);
  reflectSlider($("activitytemp"), state.activity_temp);
  reflectSlider($("threshold"), state.threshold);
  reflectSlider($("timescale"), state.timescale);
  if (stateCount % 3 === 1) {
    showState(state); // text at ~10 Hz is plenty
    showConstraints(state, controlCount());
  }
}

// -- the screen stays awake while connected (Wake Lock, where the browser allows) ------------

let wakeLock = null;

/** @param {boolean} on */
async function keepAwake(on) {
  if (!on) {
    if (wakeLock) wakeLock.release().catch(() => {});
    wakeLock = null;
    page.wakeLock = "off";
    return;
  }
  if (!("wakeLock" in navigator)) {
    page.wakeLock = "unsupported";
    return;
  }
  if (wakeLock || document.visibilityState !== "visible") return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    page.wakeLock = "on";
    wakeLock.addEventListener("release", () => {
      wakeLock = null;
      page.wakeLock = "released";
    });
  } catch (error) {
    page.wakeLock = `refused: ${error.name}`;
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && page.connected) keepAwake(true);
});

// -- the frame loop --------------------------------------------------------------------------

let fpsSince = performance.now();
let fpsFrames = 0;

const stripUI = { commandTo, setFocus, bindSlider, reflectSlider, drawStrip };

/** One instrument's lanes, compact; the focus's with what its model expects next. */
function drawStrip(canvas, name, n, compact) {
  if (compact) drawActivity(canvas, trackOf(name).events, n);
  else drawLanes(canvas, trackOf(name).events, n, name === page.focus ? expectBase() : null, 3);
}

function frame() {
  padTick();
  if (!isEnsemble()) drawLanes($("timeline"), page.events, controlCount(), expectBase(), 6, true);
  if (strips) strips.draw();
  drawRhythm();
  drawXY();
  drawPad();
  updateCountdown();
  page.frames += 1;
  fpsFrames += 1;
  const now = performance.now();
  if (now - fpsSince >= 1000) {
    page.fps = (fpsFrames * 1000) / (now - fpsSince);
    fpsSince = now;
    fpsFrames = 0;
  }
  requestAnimationFrame(frame);
}

forgetTokenInAddress();
setupPad();
setupControls({ toggleSound: () => synth.toggle(), toggleLayout });
connect(receive, keepAwake);
requestAnimationFrame(frame);
