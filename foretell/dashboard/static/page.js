// The page's state (one owner: every module reads and changes it here), the engine's clock as
// the page estimates it, and the toast line. `window.foretell` is this state, for the curious
// and for tests.
import { $ } from "./shared/dom.js";

export const PAST = 8; // seconds of history on the timeline
export const FUTURE = 2; // seconds of what comes next
export const KEEP = 12; // seconds of events kept
export const MAX_EVENTS = 6000;

/**
 * One event as the page keeps it. `moved`: the controls that moved (null: all of them).
 * @typedef {{source: "user" | "model", origin: string, v: number[], t: number, dt: number,
 *   moved: Set<number> | null}} PageEvent
 */

export const page = {
  connected: false,
  /** @type {import("./shared/messages.js").Hello | null} */
  hello: null,
  /** @type {import("./shared/messages.js").State | null} */
  state: null,
  /** @type {import("./shared/messages.js").Expect | null} */
  expect: null,
  /** @type {PageEvent[]} */
  events: [], // the focus's events (its track's)
  counts: { user: 0, model: 0 }, // the focus's
  /** @type {string[]} */
  instruments: [],
  /** @type {string | null} */
  focus: null,
  /** @type {Record<string, {events: PageEvent[], counts: {user: number, model: number}}>} */
  tracks: {}, // instrument name -> { events, counts }
  ensemble: null, // the latest ensemble frame
  compact: false, // an ensemble's strips as dense rows (strips.js)
  /** @type {import("./shared/messages.js").Setting[]} */
  settings: [], // the engine's live settings, as its "settings" message gave them
  sent: 0,
  frames: 0,
  fps: 0,
  /** @type {number | null} */
  offset: null,
  /** @type {string[]} */
  errors: [],
  /** @type {{t: number, text: string}[]} */
  marks: [], // where the focus's model was swapped or a setting changed
  wakeLock: "off", // "on" while the screen is kept awake, else why not
  /** @type {Record<string, Record<string, number>>} */
  presets: {},
};
// a window property for the curious and for tests
window.foretell = page;

/** The engine's clock now (seconds), from the offset the state frames gave. */
export function engineNow() {
  return page.offset === null ? 0 : performance.now() / 1000 + page.offset;
}

/** @param {number} t the engine's time a frame was made at */
export function syncClock(t) {
  // t - local arrival time is at most the true offset (the frame took some time to come).
  const sample = t - performance.now() / 1000;
  if (page.offset === null || sample > page.offset || page.offset - sample > 0.5) {
    page.offset = sample;
  }
}

/** How many controls the focus's model has (3 before the first state). */
export function controlCount() {
  const d = page.state?.dimension;
  return d ? d - 1 : 3;
}

export function isEnsemble() {
  return page.instruments.length > 1;
}

/** @param {string} name */
export function trackOf(name) {
  if (!(name in page.tracks)) page.tracks[name] = { events: [], counts: { user: 0, model: 0 } };
  return page.tracks[name];
}

/** When the expected event falls due: from the event it was predicted from, dt later. */
export function expectBase() {
  const e = page.expect;
  if (!e) return null;
  const scale = e.model_plays ? e.timescale : 1;
  return { e, scale, due: e.t0 + e.dt * scale };
}

let toastTimer = 0;

/** @param {string} text one line for the performer, shown for 5 s */
export function toast(text) {
  page.errors.push(text);
  const box = $("toast");
  box.textContent = text;
  box.style.opacity = 1;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.style.opacity = 0;
  }, 5000);
}
