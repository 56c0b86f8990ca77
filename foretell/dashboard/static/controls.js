// The side panel's controls: modes, the sampling sliders (their ranges from the engine's
// "settings" message, the HTML's as the fallback), presets, steering, the model files, and the
// stage controls (pause, thru, panic, keyboard shortcuts).
import { $ } from "./shared/dom.js";
import { command, send } from "./connection.js";
import { isEnsemble, page, toast } from "./page.js";
import { MODE_LABELS } from "./strips.js";

const MODE_HELP = {
  listen: "the model listens (learns your state), never plays",
  filter: "the model answers each of your events at once",
  callresponse: "the model plays when you have been silent for the threshold",
  battle: "the model plays on its own, all the time",
  useronly: "no model: your events are logged only",
};

/** @param {string[]} modes one button each */
export function buildModeButtons(modes) {
  const box = $("modes");
  box.replaceChildren();
  for (const mode of modes) {
    const button = document.createElement("button");
    button.textContent = MODE_LABELS[mode] || mode;
    button.dataset.mode = mode;
    button.title = MODE_HELP[mode] || mode;
    button.addEventListener("click", () => command("mode", mode));
    box.append(button);
  }
}

// -- sliders ---------------------------------------------------------------------------------

const sliderTouched = new Map(); // slider -> time of the last change by this page

function setupSliders() {
  for (const input of document.querySelectorAll("input[data-verb]")) {
    bindSlider(input, $(`${input.id}-value`), (value) => command(input.dataset.verb, value));
  }
}

/**
 * Sends at most every 60 ms while dragged, and the final value; `label` shows the value.
 * @param {any} input a range input
 * @param {HTMLElement} label
 * @param {(value: number) => void} push
 */
export function bindSlider(input, label, push) {
  let timer = null;
  input.valueLabel = label;
  const flush = () => {
    timer = null;
    push(Number(input.value));
  };
  input.addEventListener("input", () => {
    sliderTouched.set(input, performance.now());
    showSlider(input);
    if (timer === null) timer = setTimeout(flush, 60);
  });
  input.addEventListener("change", () => {
    sliderTouched.set(input, performance.now());
    if (timer !== null) clearTimeout(timer);
    flush();
  });
  showSlider(input);
}

function showSlider(input) {
  const unit = input.dataset.unit || "";
  input.valueLabel.textContent = `${Number(input.value).toFixed(2)}${unit ? ` ${unit}` : ""}`;
}

/**
 * Shows the engine's value, unless this page changed the slider a moment ago.
 * @param {any} input
 * @param {number} value
 */
export function reflectSlider(input, value) {
  const touched = sliderTouched.get(input) || 0;
  const dragged = document.activeElement === input && input.matches(":active");
  if (performance.now() - touched < 800 || dragged) return;
  if (Math.abs(Number(input.value) - value) > 1e-9) {
    input.value = value;
    showSlider(input);
  }
}

/**
 * Every slider of a verb the engine declared takes its range (min, max, step), its unit and
 * its description from the engine; a verb it does not declare keeps the page's own.
 * @param {import("./shared/messages.js").Setting[]} settings
 */
export function applySettings(settings) {
  if (!Array.isArray(settings)) return;
  page.settings = settings;
  const byVerb = new Map(settings.filter((s) => s && s.kind === "number").map((s) => [s.verb, s]));
  for (const input of document.querySelectorAll("input[type=range][data-verb]")) {
    const setting = byVerb.get(input.dataset.verb);
    if (setting) rangeFrom(input, setting);
  }
  for (const input of document.querySelectorAll("input[type=range][data-strip-verb]")) {
    const setting = byVerb.get(input.dataset.stripVerb);
    if (setting) rangeFrom(input, setting);
  }
}

/**
 * @param {any} input
 * @param {import("./shared/messages.js").Setting} setting
 */
function rangeFrom(input, setting) {
  const value = Number(input.value); // kept: setting min/max first could clamp it
  for (const key of ["min", "max", "step"]) {
    if (Number.isFinite(setting[key])) input[key] = String(setting[key]);
  }
  if (typeof setting.unit === "string" && setting.unit) input.dataset.unit = setting.unit;
  if (typeof setting.doc === "string" && setting.doc) input.title = setting.doc;
  input.value = String(value);
  if (input.valueLabel) showSlider(input);
}

// -- presets: π, σ, activity, threshold and timescale under a name ---------------------------

const PRESET_KEYS = ["pi_temp", "sigma_temp", "activity_temp", "threshold", "timescale"];
const PRESET_SLIDERS = {
  pi_temp: "pitemp",
  sigma_temp: "sigmatemp",
  activity_temp: "activitytemp",
  threshold: "threshold",
  timescale: "timescale",
};
const STORE = "foretell.presets";

function storedPresets() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || "{}") || {};
  } catch {
    return {};
  }
}

/**
 * The config's presets, then this browser's (a name saved here wins).
 * @param {Record<string, Record<string, number>>} fromConfig
 */
export function loadPresets(fromConfig) {
  page.presets = { ...fromConfig, ...storedPresets() };
  showPresets();
}

function showPresets(chosen = "") {
  const select = $("presets");
  const names = Object.keys(page.presets).sort();
  select.replaceChildren(
    new Option(names.length ? "presets…" : "no presets yet", ""),
    ...names.map((name) => new Option(name, name)),
  );
  select.value = names.includes(chosen) ? chosen : "";
}

function recallPreset(name) {
  const preset = page.presets[name];
  if (!preset) return;
  for (const key of PRESET_KEYS) {
    if (typeof preset[key] !== "number") continue;
    const slider = $(PRESET_SLIDERS[key]);
    slider.value = preset[key];
    sliderTouched.set(slider, performance.now());
    showSlider(slider);
    command(slider.dataset.verb, preset[key]);
  }
}

function savePreset() {
  const name = (prompt("name this preset (π, σ, threshold, timescale)") || "").trim();
  if (!name) return;
  const preset = {};
  for (const key of PRESET_KEYS) preset[key] = Number($(PRESET_SLIDERS[key]).value);
  const stored = storedPresets();
  stored[name] = preset;
  localStorage.setItem(STORE, JSON.stringify(stored));
  page.presets[name] = preset;
  showPresets(name);
}

function deletePreset() {
  const name = $("presets").value;
  if (!name) return;
  const stored = storedPresets();
  delete stored[name];
  localStorage.setItem(STORE, JSON.stringify(stored));
  delete page.presets[name];
  const fromConfig = page.hello?.presets || {};
  if (name in fromConfig) page.presets[name] = fromConfig[name]; // the config's stays
  showPresets();
}

// -- steering: range, hold, release per control (the engine's /foretell/range, hold, ...) -----

function setupSteering() {
  const control = () => Number($("steer-control").value);
  const low = () => Number($("steer-low").value);
  const high = () => Number($("steer-high").value);
  $("steer-range").addEventListener("click", () => command("range", control(), low(), high()));
  $("steer-hold").addEventListener("click", () => command("hold", control(), low()));
  $("steer-temp").addEventListener("click", () => command("controltemp", control(), low()));
  $("steer-dt").addEventListener("click", () => command("dtrange", low(), high()));
  $("steer-release").addEventListener("click", () => command("release", control()));
  $("steer-clear").addEventListener("click", () => command("unconstrain"));
}

/**
 * The control choice (one per control) and the constraints in words.
 * @param {import("./shared/messages.js").State} state
 * @param {number} n controls
 */
export function showConstraints(state, n) {
  const select = $("steer-control");
  if (select.options.length !== n) {
    const chosen = select.value;
    const options = Array.from({ length: n }, (_, i) => new Option(`c${i + 1}`, String(i)));
    select.replaceChildren(...options);
    if (chosen && Number(chosen) < n) select.value = chosen;
  }
  const c = state.constraints || {};
  const name = (/** @type {string} */ i) => `c${Number(i) + 1}`;
  const parts = [
    ...Object.entries(c.ranges || {}).map(([i, [lo, hi]]) => `${name(i)} in [${lo}, ${hi}]`),
    ...Object.entries(c.holds || {}).map(([i, v]) => `${name(i)} held at ${v}`),
    ...Object.entries(c.control_temps || {}).map(([i, t]) => `${name(i)} σ×${t}`),
    ...(c.dt_range ? [`dt in [${c.dt_range[0]}, ${c.dt_range[1]}] s`] : []),
  ];
  $("steer-info").textContent = parts.length ? parts.join(" · ") : "no constraints";
}

// -- model files -----------------------------------------------------------------------------

export async function refreshModels() {
  try {
    const query = isEnsemble() ? `?instrument=${encodeURIComponent(page.focus ?? "")}` : "";
    const response = await fetch(`api/loadable${query}`);
    const listing = await response.json();
    const select = $("models");
    const chosen = select.value;
    select.replaceChildren();
    if (listing.models.length === 0) {
      const why = listing.dir ? "no .ftm files in the models folder" : "no models folder";
      const option = new Option(why, "");
      option.disabled = true;
      select.append(option);
    }
    for (const name of listing.models) select.append(new Option(name, name));
    const current = listing.models.includes(listing.current) ? listing.current : null;
    select.value = listing.models.includes(chosen) ? chosen : current || listing.models[0] || "";
    select.title = listing.dir || "";
  } catch (error) {
    toast(`cannot list models: ${error}`);
  }
}

// -- stage controls: pause, thru, panic, shortcuts -------------------------------------------

function togglePause() {
  command("pause", page.state?.paused ? 0 : 1);
}

function toggleThru() {
  command("thru", page.state?.thru ? 0 : 1);
}

/** Every instrument paused and reset, all notes off on every MIDI output (Engine.panic). */
function panic() {
  send({ command: "panic" });
  toast("panic: everything paused and reset, all notes off");
}

let lastEscape = 0;

/** @param {KeyboardEvent} event */
function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const help = $("help");
  if (help.open) return; // the dialog handles its own keys (Esc closes it)
  const node = /** @type {any} */ (event.target);
  const tag = node?.tagName;
  const typing = tag === "INPUT" && node.type !== "range" && node.type !== "checkbox";
  if (typing || tag === "SELECT" || tag === "TEXTAREA") return;
  const modes = page.hello?.modes || [];
  const key = event.key;
  if (key === " ") togglePause();
  else if (key >= "1" && key <= "9" && Number(key) <= modes.length) {
    command("mode", modes[Number(key) - 1]);
  } else if (key === "r" || key === "R") command("reset");
  else if (key === "t" || key === "T") toggleThru();
  else if (key === "?") help.showModal();
  else if (key === "Escape") {
    const now = performance.now();
    if (now - lastEscape < 1000) panic();
    lastEscape = now;
    return;
  } else return;
  event.preventDefault();
}

/**
 * Wires every control of the panel.
 * @param {{toggleSound: () => void, toggleLayout: () => void}} actions the page's own
 */
export function setupControls({ toggleSound, toggleLayout }) {
  setupSliders();
  $("pause").addEventListener("click", togglePause);
  $("reset").addEventListener("click", () => command("reset"));
  $("load").addEventListener("click", () => {
    const name = $("models").value;
    if (name) command("load", name);
  });
  $("models").addEventListener("focus", refreshModels);
  $("learn").addEventListener("click", () => command("learn"));
  $("rollback").addEventListener("click", () => command("rollback", Number($("version").value)));
  setupSteering();
  $("sound").addEventListener("click", toggleSound);
  $("compact").addEventListener("click", toggleLayout);
  $("thru").addEventListener("click", toggleThru);
  $("panic").addEventListener("click", panic);
  $("help-button").addEventListener("click", () => $("help").showModal());
  $("presets").addEventListener("change", () => recallPreset($("presets").value));
  $("preset-save").addEventListener("click", savePreset);
  $("preset-delete").addEventListener("click", deletePreset);
  document.addEventListener("keydown", onKey);
}
