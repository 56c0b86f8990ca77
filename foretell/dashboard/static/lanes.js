// The lanes: one per control, the past PAST seconds of events and what comes next FUTURE
// seconds on; the compact activity lane of a big ensemble; the countdown to the expected event.
//
// A control that moved in an event is drawn as a point on its lane; one the event held (a sparse
// model's event moves only some controls) only continues its line, faintly, at the value it kept.
import { ORIGINS } from "./shared/messages.js";
import { COLOURS, fitCanvas, label } from "./paint.js";
import { engineNow, expectBase, FUTURE, PAST, page } from "./page.js";

const LANE_GUTTER = 24; // px left of the lanes for their names (c1 ... c16)
const MOVED_ALPHA = 0.55; // the line into a point where the control moved
const HELD_ALPHA = 0.18; // the line into a point where it held its value

/**
 * Whether control `i` moved in `ev` (an event that does not say moved every control).
 * @param {import("./page.js").PageEvent} ev
 * @param {number} i
 */
export function movedAt(ev, i) {
  return ev.moved === null || ev.moved.has(i);
}

/**
 * @param {HTMLCanvasElement} canvas
 * @param {import("./page.js").PageEvent[]} events
 * @param {number} n controls
 * @param {ReturnType<typeof expectBase>} next what the model expects, or null
 * @param {number} [gap] px between lanes
 * @param {boolean} [marks] the focus's timeline: steering and marks too
 */
export function drawLanes(canvas, events, n, next, gap = 6, marks = false) {
  // The lanes' names (c1, c2, ...) sit in a gutter of their own, never over the events.
  const { ctx, w, h } = fitCanvas(canvas);
  const now = engineNow();
  const start = now - PAST;
  const gutter = LANE_GUTTER;
  const X = (/** @type {number} */ t) => gutter + ((t - start) / (PAST + FUTURE)) * (w - gutter);
  const laneH = (h - gap * (n + 1)) / n;
  const xNow = X(now);
  ctx.save();
  ctx.beginPath();
  ctx.rect(gutter, 0, w - gutter, h);
  ctx.clip(); // what was played just before the window does not spill into the gutter
  ctx.fillStyle = `rgba(${COLOURS.expect},0.05)`;
  ctx.fillRect(xNow, 0, w - xNow, h);
  for (let i = 0; i < n; i += 1) {
    const top = gap + i * (laneH + gap);
    const Y = (/** @type {number} */ v) => top + (1 - v) * laneH;
    drawLaneGrid(ctx, w, top, laneH);
    if (marks) drawConstraint(ctx, w, i, Y); // the focus's timeline
    if (next) drawExpectedLane(ctx, next, i, X, Y, xNow);
    // the model under the performer's: in filter mode an answer lands where its input was
    for (const origin of ["model", ...ORIGINS]) drawLaneEvents(ctx, events, origin, i, X, Y, start);
  }
  if (marks) drawMarks(ctx, X, h, start);
  for (let s = Math.ceil(start); s < now + FUTURE; s += 1) {
    ctx.fillStyle = COLOURS.grid;
    ctx.fillRect(X(s), 0, 1, h);
  }
  ctx.fillStyle = COLOURS.now;
  ctx.fillRect(xNow, 0, 1.5, h);
  label(ctx, "now", xNow + 4, h - 4, COLOURS.now);
  if (next) drawCountdownMark(ctx, next, X, h, now);
  ctx.restore();
  const labelY = (/** @type {number} */ i) => gap + i * (laneH + gap) + Math.min(12, laneH / 2 + 4);
  for (let i = 0; i < n; i += 1) label(ctx, `c${i + 1}`, 2, labelY(i), COLOURS.label);
}

/** A dotted line where the model was swapped or a setting changed, with what changed. */
function drawMarks(ctx, X, h, start) {
  ctx.font = "10px system-ui, sans-serif";
  for (const mark of page.marks) {
    if (mark.t < start) continue;
    const x = X(mark.t);
    ctx.strokeStyle = "rgba(255,210,74,0.7)";
    ctx.setLineDash([2, 3]);
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, h);
    ctx.stroke();
    ctx.setLineDash([]);
    label(ctx, mark.text, x + 3, 10, COLOURS.held, { backdrop: true });
  }
}

function drawLaneGrid(ctx, w, top, laneH) {
  ctx.fillStyle = "rgba(255,255,255,0.025)";
  ctx.fillRect(0, top, w, laneH);
  ctx.fillStyle = COLOURS.grid;
  for (const v of [0, 0.5, 1]) ctx.fillRect(0, top + (1 - v) * laneH, w, 1);
}

/** Each mixture component's expected value of control i: a band over its dt range, its mean. */
function drawExpectedLane(ctx, next, i, X, Y, xNow) {
  for (const c of next.e.components) {
    const [mean, lo, hi] = c.x[i];
    const x0 = X(next.e.t0 + c.dt[1] * next.scale);
    const x1 = Math.max(X(next.e.t0 + c.dt[2] * next.scale), x0 + 3);
    const xm = X(next.e.t0 + c.dt[0] * next.scale);
    const overdue = x1 < xNow;
    const alpha = (overdue ? 0.1 : 0.2) + 0.55 * c.w;
    const grad = ctx.createLinearGradient(0, Y(hi), 0, Y(lo));
    grad.addColorStop(0, `rgba(${COLOURS.expect},0)`);
    grad.addColorStop(0.5, `rgba(${COLOURS.expect},${alpha})`);
    grad.addColorStop(1, `rgba(${COLOURS.expect},0)`);
    ctx.fillStyle = grad;
    ctx.fillRect(x0, Y(hi) - 2, x1 - x0, Y(lo) - Y(hi) + 4);
    ctx.fillStyle = `rgba(${COLOURS.expect},${Math.min(1, alpha + 0.3)})`;
    ctx.fillRect(xm - 5, Y(mean) - 1, 10, 2);
  }
}

/** One source's events on lane i: their line, and a point where the control moved. */
function drawLaneEvents(ctx, events, origin, i, X, Y, start) {
  const colour = COLOURS[origin];
  const model = origin === "model";
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = model ? 1 : 1.5;
  ctx.globalAlpha = MOVED_ALPHA;
  traceLine(ctx, events, origin, i, X, Y, start, true);
  ctx.globalAlpha = HELD_ALPHA;
  traceLine(ctx, events, origin, i, X, Y, start, false);
  ctx.globalAlpha = 1;
  for (const ev of events) {
    if (ev.origin !== origin || ev.t < start - 1 || ev.v.length <= i || !movedAt(ev, i)) continue;
    if (model)
      ctx.fillRect(X(ev.t) - 2.5, Y(ev.v[i]) - 2.5, 5, 5); // a larger square under
    else ctx.fillRect(X(ev.t) - 1.5, Y(ev.v[i]) - 1.5, 3, 3);
  }
}

/** The line's segments into the events where control i moved (`moved`) or held (`!moved`). */
function traceLine(ctx, events, origin, i, X, Y, start, moved) {
  ctx.beginPath();
  let first = true;
  let penThere = false; // the pen is at the previous event's point
  let px = 0;
  let py = 0;
  for (const ev of events) {
    if (ev.origin !== origin || ev.t < start - 1 || ev.v.length <= i) continue;
    const x = X(ev.t);
    const y = Y(ev.v[i]);
    if (movedAt(ev, i) === moved) {
      if (first) ctx.moveTo(x, y);
      else {
        if (!penThere) ctx.moveTo(px, py);
        ctx.lineTo(x, y);
      }
      penThere = true;
    } else penThere = false;
    first = false;
    px = x;
    py = y;
  }
  ctx.stroke();
}

function drawCountdownMark(ctx, next, X, h, now) {
  const x = X(next.due);
  if (x < 0 || x > X(now + FUTURE)) return;
  ctx.strokeStyle = `rgba(${COLOURS.expect},0.9)`;
  ctx.setLineDash([3, 4]);
  ctx.beginPath();
  ctx.moveTo(x, 0);
  ctx.lineTo(x, h);
  ctx.stroke();
  ctx.setLineDash([]);
}

/** A range as a band on its lane, a held value as a line with a lock. */
function drawConstraint(ctx, w, i, Y) {
  const c = page.state?.constraints;
  if (!c) return;
  const range = c.ranges?.[String(i)];
  if (range) {
    ctx.fillStyle = COLOURS.steer;
    ctx.fillRect(0, Y(range[1]), w, Y(range[0]) - Y(range[1]));
  }
  const held = c.holds?.[String(i)];
  if (held !== undefined) {
    ctx.fillStyle = COLOURS.held;
    ctx.fillRect(0, Y(held) - 1, w, 2);
    label(ctx, "held", w - 40, Y(held) - 4, COLOURS.held, { backdrop: true });
  }
}

/**
 * One thin lane: the last PAST seconds, the controls that moved in each event overlaid.
 * @param {HTMLCanvasElement} canvas
 * @param {import("./page.js").PageEvent[]} events
 * @param {number} n controls
 */
export function drawActivity(canvas, events, n) {
  const { ctx, w, h } = fitCanvas(canvas);
  const now = engineNow();
  const start = now - PAST;
  const X = (/** @type {number} */ t) => ((t - start) / (PAST + 0.25)) * w; // a clock's room ahead
  const Y = (/** @type {number} */ v) => 2 + (1 - Math.min(Math.max(v, 0), 1)) * (h - 4);
  ctx.fillStyle = COLOURS.grid;
  for (let s = Math.ceil(start); s < now; s += 1) ctx.fillRect(X(s), 0, 1, h);
  for (const origin of ["model", ...ORIGINS]) {
    ctx.fillStyle = COLOURS[origin];
    for (const ev of events) {
      if (ev.origin !== origin || ev.t < start) continue;
      const x = X(ev.t);
      for (let i = 0; i < Math.min(n, ev.v.length); i += 1) {
        if (movedAt(ev, i)) ctx.fillRect(x - 1, Y(ev.v[i]) - 1, 2.5, 2.5);
      }
    }
  }
}

/** Every countdown on the page: when the model plays, or when it expects you. */
export function updateCountdown() {
  const text = countdownText();
  for (const out of document.querySelectorAll(".countdown")) out.textContent = text;
}

function countdownText() {
  if (page.state?.paused) return "paused";
  const next = expectBase();
  if (!next) return page.state?.model ? "" : "no model";
  const left = next.due - engineNow();
  const who = next.e.model_plays ? "model plays" : "expects you";
  if (left >= 0) return `${who} in ${left.toFixed(2)}\u00a0s`; // a number keeps its unit
  if (next.e.model_plays) return "model plays now";
  return `expected you ${(-left).toFixed(1)}\u00a0s ago`;
}
