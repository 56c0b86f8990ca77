// The dashboard's WebSocket messages (/ws), declared once: their kinds, their keys and shapes.
//
// In (the engine's): one JSON object per message, or a JSON array of several. Each has one key
// that names its kind (KINDS, checked in that order). Out (the page's): {"interface": [..]} from
// the pad, {"command": VERB, "args": [..]} from the controls, {"select": NAME} for the focus; in
// an ensemble with "instrument": NAME. docs/dashboard.md describes them for other clients.

/** @typedef {"pad" | "osc" | "midi" | "serial" | "websocket" | "other"} Origin a user event's source */

/**
 * A user event ("interface") or a model event ("prediction"): its values (one per control, 0..1),
 * when it played on the engine's clock and the time since the event before it.
 * `moved`: the 0-based controls that moved in this event (absent: all of them, a dense model).
 * @typedef {{interface?: number[], prediction?: number[], t: number, dt: number, from?: Origin,
 *   instrument?: string, moved?: number[]}} EventMessage
 */

/**
 * @typedef {{ranges?: Record<string, [number, number]>, holds?: Record<string, number>,
 *   control_temps?: Record<string, number>, dt_range?: [number, number] | null}} Constraints
 */

/**
 * The focus instrument's state, several times a second.
 * @typedef {{now: number, instrument: string, mode: string, modes: string[], generates: string,
 *   paused: boolean, responding: boolean, pi_temp: number, sigma_temp: number, activity_temp: number,
 *   threshold: number,
 *   timescale: number, thru: boolean, constraints: Constraints, dimension: number,
 *   model: {name: string, path: string | null, layers: number, units: number, mixtures: number,
 *     dimension: number, params: number} | null,
 *   counts: {inputs: number, answers: number, generated: number, stale: number, cancelled: number},
 *   rates: {in: number, out: number}, latency_ms: {p50: number | null, p99: number | null},
 *   rejected: Record<string, number>, log: {path: string | null, rows: number},
 *   learning: Record<string, any> | null}} State
 */

/**
 * What the model expects next: per mixture component its weight `w`, dt as [mean, low, high]
 * and per control [mean, low, high]; from the event at `t0`, scaled by `timescale` when the model
 * plays it.
 * @typedef {{instrument: string, t0: number, timescale: number, model_plays: boolean,
 *   components: {w: number, dt: [number, number, number], x: [number, number, number][]}[]}} Expect
 */

/**
 * One instrument's strip in an ensemble.
 * @typedef {{name: string, mode: string, paused: boolean, responding: boolean, pi_temp: number,
 *   sigma_temp: number, dimension: number, model: string | null, inputs: number, outputs: number,
 *   rejected: number, rates: {in: number, out: number}}} Strip
 */

/**
 * The greeting on connect: the instrument looked at, all of them, the modes, the presets.
 * @typedef {{instrument: string, instruments?: string[], modes: string[],
 *   models_dir: string | null, fps: number, presets?: Record<string, Record<string, number>>}} Hello
 */

/**
 * A live setting the engine accepts (sent once on connect): its command verb, its range.
 * @typedef {{verb: string, kind: "number" | "flag", min?: number, max?: number, step?: number,
 *   default?: number, unit?: string, doc?: string}} Setting
 */

/**
 * The message kinds the page reads, in the order a message is checked for them.
 * interface, prediction: EventMessage; state: {state: State}; expect: {expect: Expect | null};
 * ensemble: {ensemble: {now: number, instruments: Strip[]}}; hello: {hello: Hello};
 * settings: {settings: Setting[]}; error: {error: string} (a command refused, in one line).
 */
export const KINDS = Object.freeze([
  "interface",
  "prediction",
  "state",
  "expect",
  "ensemble",
  "hello",
  "settings",
  "error",
]);

/** The sources a user event may name in "from" (anything else is "other"). */
export const ORIGINS = Object.freeze(["pad", "osc", "midi", "serial", "websocket", "other"]);

/**
 * The messages in one WebSocket text (one object, or an array of them).
 * @param {string} text
 * @returns {Record<string, any>[]}
 */
export function unpack(text) {
  const data = JSON.parse(text);
  return Array.isArray(data) ? data : [data];
}

/**
 * A message's kind (one of KINDS), or null for one the page does not read.
 * @param {Record<string, any>} message
 * @returns {string | null}
 */
export function kindOf(message) {
  return KINDS.find((kind) => kind in message) ?? null;
}

/**
 * The controls that moved in an event, or null when it does not say (all of them moved).
 * @param {EventMessage} message
 * @returns {Set<number> | null}
 */
export function movedOf(message) {
  const moved = message.moved;
  return Array.isArray(moved) ? new Set(moved.filter(Number.isInteger)) : null;
}
