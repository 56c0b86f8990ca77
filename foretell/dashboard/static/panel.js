// The state panel in words: mode, model, rates, latency, counts, log, learning; and the marks on
// the timeline where the model was swapped or a setting changed.
import { $ } from "./shared/dom.js";
import { isEnsemble, KEEP, page } from "./page.js";

const MARK_KEYS = [
  ["mode", "mode"],
  ["paused", "paused"],
  ["pi_temp", "π"],
  ["sigma_temp", "σ"],
  ["threshold", "threshold"],
  ["timescale", "timescale"],
  ["thru", "thru"],
];

/**
 * A mark on the timeline for what changed between two states of one instrument.
 * @param {import("./shared/messages.js").State | null} previous
 * @param {import("./shared/messages.js").State} state
 */
export function noteChanges(previous, state) {
  if (!previous || previous.instrument !== state.instrument) return;
  const changed = [];
  const prevModel = previous.model?.path;
  const model = state.model?.path;
  if (prevModel !== model) changed.push(`model ${state.model ? state.model.name : "none"}`);
  for (const [key, name] of MARK_KEYS) {
    if (previous[key] === state[key]) continue;
    changed.push(`${name} ${shown(state[key])}`);
  }
  if (!changed.length) return;
  page.marks.push({ t: state.now, text: changed.join(" · ") });
  while (page.marks.length > 64 || (page.marks.length && page.marks[0].t < state.now - KEEP)) {
    page.marks.shift();
  }
}

/** @param {unknown} value */
function shown(value) {
  if (typeof value === "number") return value.toFixed(2);
  if (typeof value === "boolean") return value ? "on" : "off";
  return String(value);
}

/** @param {import("./shared/messages.js").State} state */
export function showPaused(state) {
  $("paused-pill").hidden = !state.paused;
  document.body.classList.toggle("paused", state.paused);
}

const ms = (/** @type {number | null | undefined} */ v) =>
  v === null || v === undefined ? "–" : `${v.toFixed(v < 10 ? 2 : 1)} ms`;

/** @param {import("./shared/messages.js").State} state */
export function showState(state) {
  const mode = state.paused ? `${state.mode} · paused` : state.mode;
  $("mode-pill").textContent = isEnsemble() ? `${state.instrument} · ${mode}` : mode;
  for (const button of $("modes").children) {
    button.classList.toggle("active", button.dataset.mode === state.mode);
  }
  $("pause").textContent = state.paused ? "resume" : "pause";
  $("pause").classList.toggle("active", state.paused);
  $("thru").textContent = state.thru ? "thru on" : "thru off";
  $("thru").classList.toggle("on", state.thru);
  showPaused(state);
  showModel(state.model);
  $("rate-in").textContent = state.rates.in.toFixed(1);
  $("rate-out").textContent = state.rates.out.toFixed(1);
  $("lat-p50").textContent = ms(state.latency_ms.p50);
  $("lat-p99").textContent = ms(state.latency_ms.p99);
  const c = state.counts;
  $("inputs").textContent = c.inputs;
  $("outputs").textContent = `${c.answers + c.generated}`;
  $("stale").textContent = `${c.stale} · ${c.cancelled}`;
  const rejected = Object.entries(state.rejected);
  $("rejected").textContent = rejected.length
    ? rejected.map(([k, v]) => `${k} ${v}`).join(", ")
    : "none";
  const logPath = state.log.path;
  $("log").textContent = logPath ? `${logPath.split("/").pop()} (${state.log.rows} rows)` : "off";
  $("log").title = logPath || "";
  showLearning(state.learning);
  $("page").textContent =
    `${page.fps.toFixed(0)} fps · ${page.counts.user + page.counts.model} events`;
}

/** @param {import("./shared/messages.js").State["model"]} m */
function showModel(m) {
  $("model-pill").textContent = m ? m.name : "no model";
  $("model-info").innerHTML = m
    ? `<b>${escapeHtml(m.name)}</b><br>${m.layers}×${m.units} LSTM · ${m.mixtures} mixtures · ` +
      `${m.dimension - 1} controls · ${(m.params / 1000).toFixed(1)}k params`
    : "none loaded";
  $("model-info").title = m?.path ? m.path : "";
}

/** @param {Record<string, any> | null} l */
function showLearning(l) {
  $("learn-row").hidden = !l || l.state === "unavailable";
  if (!l) return;
  const last = l.last || {};
  const nll =
    last.recent_nll_before !== undefined
      ? ` · last: ${last.recent_nll_before.toFixed(2)} → ${last.recent_nll_after.toFixed(2)} nats` +
        (last.accepted ? " (kept)" : " (not kept)")
      : "";
  const swap = l.swap_ms === null ? "" : ` · swap ${l.swap_ms.toFixed(2)} ms`;
  $("learn-info").textContent =
    `learning ${l.schedule} · ${l.state} · playing v${l.version} of ${l.newest}${swap}${nll}`;
}

/** @param {unknown} text */
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
