// The pad: an instrument for mouse, pen and touch.
//
// One finger (or the mouse) plays controls 1 and 2; a second finger on the pad sets control 3
// by its height (pressure), else the pressure slider or the hold time does. A pen's pressure
// is used as it comes.
import { $ } from "./shared/dom.js";
import { ORIGINS } from "./shared/messages.js";
import { send, target } from "./connection.js";
import { COLOURS, fitCanvas, label } from "./paint.js";
import { controlCount, engineNow, page } from "./page.js";
import { synth } from "./synth.js";
import { drawSquareGrid, drawTrails, square } from "./views.js";

const SEND_EVERY_MS = 16; // the pad sends at most ~60 events per second

const pad = {
  active: false,
  x: 0.5,
  y: 0.5,
  pressure: 0.6,
  downAt: 0,
  lastSent: 0,
  pending: false,
  /** @type {number | null} */
  pointerPressure: null,
  /** @type {number | null} */
  lead: null, // the pointer playing controls 1-2
  /** @type {number | null} */
  second: null, // a second finger: control 3
  /** @type {number | null} */
  secondValue: null,
  sentTotal: 0,
};

function padPressure() {
  if (pad.secondValue !== null) return pad.secondValue;
  if (pad.pointerPressure !== null) return pad.pointerPressure;
  if (!$("hold").checked) return Number($("pressure").value);
  const held = (performance.now() - pad.downAt) / 1000;
  return Math.min(1, 0.15 + (held / 1.2) * 0.85);
}

function padValues() {
  const values = [pad.x, pad.y, pad.pressure];
  const n = controlCount();
  while (values.length < n) values.push(0.5);
  return values.slice(0, n).map((v) => Math.round(v * 1e4) / 1e4);
}

function padSend() {
  pad.pressure = padPressure();
  $("pressure-value").textContent = pad.pressure.toFixed(2);
  if ($("hold").checked || pad.secondValue !== null) $("pressure").value = pad.pressure;
  send({ interface: padValues(), ...target() });
  pad.lastSent = performance.now();
  pad.pending = false;
  pad.sentTotal += 1;
}

/** @param {PointerEvent} event */
function padCoordinates(event) {
  const canvas = $("pad");
  const rect = canvas.getBoundingClientRect(); // on input only, never per frame
  const sq = square(rect.width, rect.height);
  const x = Math.min(Math.max((event.clientX - rect.left - sq.left) / sq.side, 0), 1);
  const y = Math.min(Math.max(1 - (event.clientY - rect.top - sq.top) / sq.side, 0), 1);
  return [x, y];
}

/** @param {PointerEvent} event */
function padPoint(event) {
  [pad.x, pad.y] = padCoordinates(event);
  pad.pointerPressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : null;
}

function padMaybeSend() {
  if (performance.now() - pad.lastSent >= SEND_EVERY_MS) padSend();
  else pad.pending = true;
}

export function setupPad() {
  const canvas = $("pad");
  canvas.addEventListener("pointerdown", (/** @type {PointerEvent} */ event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (pad.lead !== null && pad.second === null && event.pointerId !== pad.lead) {
      pad.second = event.pointerId; // a second finger: control 3 from its height
      pad.secondValue = padCoordinates(event)[1];
      padMaybeSend();
      return;
    }
    if (pad.lead !== null) return; // a third finger changes nothing
    pad.lead = event.pointerId;
    pad.active = true;
    pad.downAt = performance.now();
    document.body.classList.add("playing");
    padPoint(event);
    synth.wake();
    padSend();
  });
  canvas.addEventListener("pointermove", (/** @type {PointerEvent} */ event) => {
    if (event.pointerId === pad.second) {
      pad.secondValue = padCoordinates(event)[1];
      padMaybeSend();
    } else if (event.pointerId === pad.lead) {
      padPoint(event);
      padMaybeSend();
    }
  });
  const release = (/** @type {PointerEvent} */ event) => {
    if (event.pointerId === pad.second) {
      pad.second = null;
      pad.secondValue = null;
      return;
    }
    if (event.pointerId !== pad.lead) return;
    if (pad.active && pad.pending) padSend();
    pad.active = false;
    pad.lead = null;
    document.body.classList.remove("playing");
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("contextmenu", (/** @type {Event} */ event) => event.preventDefault());
  $("pressure").addEventListener("input", () => {
    $("pressure-value").textContent = Number($("pressure").value).toFixed(2);
  });
}

/** While held: flush a throttled move, and let pressure grow with the hold (~20 updates/s). */
export function padTick() {
  if (!pad.active) return;
  const since = performance.now() - pad.lastSent;
  const growing = $("hold").checked && pad.secondValue === null;
  if ((pad.pending && since >= SEND_EVERY_MS) || (growing && since >= 50)) padSend();
}

export function drawPad() {
  const { ctx, w, h } = fitCanvas($("pad"));
  const sq = square(w, h);
  const glow = ctx.createRadialGradient(
    sq.left + sq.side / 2,
    sq.top + sq.side / 2,
    0,
    sq.left + sq.side / 2,
    sq.top + sq.side / 2,
    sq.side * 0.7,
  );
  glow.addColorStop(0, "rgba(61,214,245,0.06)");
  glow.addColorStop(1, "rgba(61,214,245,0)");
  ctx.fillStyle = glow;
  ctx.fillRect(sq.left, sq.top, sq.side, sq.side);
  drawSquareGrid(ctx, sq);
  const P = (/** @type {number} */ x, /** @type {number} */ y) => [
    sq.left + x * sq.side,
    sq.top + (1 - y) * sq.side,
  ];
  const now = engineNow();
  drawTrails(ctx, P, now, 5, ORIGINS);
  drawRipples(ctx, P, now);
  if (pad.active) {
    const [x, y] = P(pad.x, pad.y);
    ctx.strokeStyle = COLOURS.user;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 8 + 26 * pad.pressure, 0, 2 * Math.PI);
    ctx.stroke();
  } else if (page.counts.user === 0 && page.state && page.state.counts.inputs === 0) {
    // only before anyone has played, from anywhere
    const x = sq.left + sq.side / 2 - 45;
    label(ctx, "drag here to play", x, sq.top + sq.side / 2, COLOURS.user);
  }
  if (pad.secondValue !== null) {
    // the second finger's level: control 3
    const y = sq.top + (1 - pad.secondValue) * sq.side;
    ctx.fillStyle = "rgba(61,214,245,0.5)";
    ctx.fillRect(sq.left, y - 1, sq.side, 2);
  }
}

/** Each model event ripples out where it played. */
function drawRipples(ctx, P, now) {
  for (const ev of page.events) {
    if (ev.source !== "model" || ev.t < now - 0.6) continue;
    const age = Math.max((now - ev.t) / 0.6, 0);
    const [x, y] = P(ev.v[0], ev.v.length > 1 ? ev.v[1] : 0.5);
    ctx.strokeStyle = COLOURS.model;
    ctx.globalAlpha = 1 - age;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(x, y, 6 + age * 28, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
}
