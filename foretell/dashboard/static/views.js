// The rhythm (time between events, log scale) and the XY view (controls 1 and 2, the cloud the
// model expects), and the square both the XY view and the pad draw in.
import { $ } from "./shared/dom.js";
import { ORIGINS } from "./shared/messages.js";
import { COLOURS, fitCanvas, label } from "./paint.js";
import { controlCount, engineNow, expectBase, FUTURE, PAST, page } from "./page.js";

const TRAIL = 4; // seconds of trail in the XY view and on the pad
const DT_LOW = -3; // log10 seconds: 1 ms ...
const DT_HIGH = Math.log10(4); // ... 4 s

export function drawRhythm() {
  const { ctx, w, h } = fitCanvas($("rhythm"));
  const now = engineNow();
  const start = now - PAST;
  const gutter = 48; // the scale's labels, kept clear of the bars
  const X = (/** @type {number} */ t) => gutter + ((t - start) / (PAST + FUTURE)) * (w - gutter);
  const Y = (/** @type {number} */ dt) => {
    const v = (Math.log10(Math.max(dt, 1e-3)) - DT_LOW) / (DT_HIGH - DT_LOW);
    return h - 4 - Math.min(Math.max(v, 0), 1) * (h - 8);
  };
  const marks = [
    [0.01, "10 ms"],
    [0.1, "100 ms"],
    [1, "1 s"],
  ];
  for (const [dt] of marks) {
    ctx.fillStyle = COLOURS.grid;
    ctx.fillRect(0, Y(dt), w, 1);
  }
  const next = expectBase();
  if (next) {
    for (const c of next.e.components) {
      const x = X(next.e.t0 + c.dt[0] * next.scale);
      ctx.fillStyle = `rgba(${COLOURS.expect},${0.25 + 0.6 * c.w})`;
      ctx.fillRect(x - 3, Y(c.dt[2]), 6, Math.max(Y(c.dt[1]) - Y(c.dt[2]), 2));
    }
  }
  for (const ev of page.events) {
    if (ev.t < start || ev.dt <= 0) continue;
    const y = Y(ev.dt);
    ctx.fillStyle = COLOURS[ev.origin] || COLOURS[ev.source];
    ctx.globalAlpha = 0.85;
    ctx.fillRect(X(ev.t) - 1, y, 2, h - 4 - y);
    ctx.fillRect(X(ev.t) - 2.5, y - 1, 5, 3);
  }
  ctx.globalAlpha = 1;
  for (const [dt, name] of marks) label(ctx, name, 4, Y(dt) + 4, COLOURS.label);
  ctx.fillStyle = COLOURS.now;
  ctx.fillRect(X(now), 0, 1.5, h);
}

/**
 * The largest square in a w × h box, `margin` px in.
 * @param {number} w
 * @param {number} h
 */
export function square(w, h, margin = 8) {
  const side = Math.max(10, Math.min(w, h) - 2 * margin);
  return { left: (w - side) / 2, top: (h - side) / 2, side };
}

export function drawSquareGrid(ctx, sq) {
  ctx.strokeStyle = COLOURS.grid;
  ctx.lineWidth = 1;
  ctx.strokeRect(sq.left, sq.top, sq.side, sq.side);
  for (const f of [0.25, 0.5, 0.75]) {
    ctx.fillStyle = COLOURS.grid;
    ctx.fillRect(sq.left + f * sq.side, sq.top, 1, sq.side);
    ctx.fillRect(sq.left, sq.top + f * sq.side, sq.side, 1);
  }
}

/** The last TRAIL seconds of each source's events in controls 1 and 2, fading with age. */
export function drawTrails(ctx, P, now, radius, origins = ["model", ...ORIGINS]) {
  for (const origin of origins) {
    let last = null;
    for (const ev of page.events) {
      if (ev.origin !== origin || ev.t < now - TRAIL || ev.v.length < 2) continue;
      const age = Math.min(Math.max((now - ev.t) / TRAIL, 0), 1);
      const [x, y] = P(ev.v[0], ev.v[1]);
      ctx.globalAlpha = 1 - age;
      ctx.strokeStyle = COLOURS[origin];
      ctx.fillStyle = COLOURS[origin];
      if (last) {
        ctx.globalAlpha = 0.5 * (1 - age);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(last[0], last[1]);
        ctx.lineTo(x, y);
        ctx.stroke();
      }
      ctx.globalAlpha = 1 - age;
      const r = ev.v.length > 2 ? radius * (0.4 + ev.v[2]) : radius;
      ctx.beginPath();
      ctx.arc(x, y, r * (1 - 0.6 * age), 0, 2 * Math.PI);
      ctx.fill();
      last = [x, y];
    }
  }
  ctx.globalAlpha = 1;
}

export function drawXY() {
  const { ctx, w, h } = fitCanvas($("xy"));
  const sq = square(w, h);
  drawSquareGrid(ctx, sq);
  if (controlCount() < 2) {
    label(ctx, "the XY view needs a model with 2 or more controls", sq.left + 10, sq.top + 20);
    return;
  }
  const P = (/** @type {number} */ x, /** @type {number} */ y) => [
    sq.left + x * sq.side,
    sq.top + (1 - y) * sq.side,
  ];
  const next = expectBase();
  if (next) for (const c of next.e.components) drawExpectedCloud(ctx, c, P, sq);
  drawTrails(ctx, P, engineNow(), 4);
  label(ctx, "c1 →", sq.left + sq.side - 30, sq.top + sq.side - 6);
  label(ctx, "c2 ↑", sq.left + 6, sq.top + 14);
}

/** One mixture component over controls 1 and 2: a glow over its ranges, a cross at its mean. */
function drawExpectedCloud(ctx, c, P, sq) {
  const [cx, cy] = P((c.x[0][1] + c.x[0][2]) / 2, (c.x[1][1] + c.x[1][2]) / 2);
  const rx = Math.max(((c.x[0][2] - c.x[0][1]) / 2) * sq.side, 4);
  const ry = Math.max(((c.x[1][2] - c.x[1][1]) / 2) * sq.side, 4);
  ctx.save();
  ctx.translate(cx, cy);
  ctx.scale(rx, ry);
  const grad = ctx.createRadialGradient(0, 0, 0, 0, 0, 1);
  grad.addColorStop(0, `rgba(${COLOURS.expect},${0.2 + 0.6 * c.w})`);
  grad.addColorStop(1, `rgba(${COLOURS.expect},0)`);
  ctx.fillStyle = grad;
  ctx.beginPath();
  ctx.arc(0, 0, 1, 0, 2 * Math.PI);
  ctx.fill();
  ctx.restore();
  const [mx, my] = P(c.x[0][0], c.x[1][0]);
  ctx.strokeStyle = `rgba(${COLOURS.expect},${0.4 + 0.6 * c.w})`;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(mx - 5, my);
  ctx.lineTo(mx + 5, my);
  ctx.moveTo(mx, my - 5);
  ctx.lineTo(mx, my + 5);
  ctx.stroke();
}
