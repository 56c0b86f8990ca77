// The studio's canvases: a take's controls over time and a training job's loss per epoch.
// Each fills a .canvas-box and is repainted when its box changes (shared/canvas.js sizes the
// backing store to the box × devicePixelRatio).
import { canvasBoxes, fit, label, PALETTE } from "../shared/canvas.js";
import { secs } from "./lists.js";
import { studio } from "./state.js";

const COLOURS = {
  bg: PALETTE.bg,
  grid: "rgba(255,255,255,0.07)",
  label: PALETTE.label,
  train: PALETTE.user,
  val: PALETTE.model,
  model: PALETTE.model,
  controls: [
    PALETTE.user,
    PALETTE.osc,
    PALETTE.expect,
    PALETTE.midi,
    PALETTE.serial,
    PALETTE.websocket,
  ],
};

const painters = new Map(); // canvas -> (ctx, w, h) => void
const boxes = canvasBoxes(paint);

/**
 * Paints `canvas` with `painter` now and whenever its box changes.
 * @param {HTMLCanvasElement} canvas
 * @param {(ctx: CanvasRenderingContext2D, w: number, h: number) => void} painter
 */
export function setPainter(canvas, painter) {
  painters.set(canvas, painter);
  paint(canvas);
}

function paint(canvas) {
  const painter = painters.get(canvas);
  if (!painter) return;
  if (!canvas.isConnected) {
    painters.delete(canvas);
    boxes.forget(canvas);
    return;
  }
  const box = boxes.of(canvas);
  if (box.w < 1 || box.h < 1) return; // hidden: painted when its tab shows it
  const { ctx, w, h } = fit(canvas, box, COLOURS.bg);
  painter(ctx, w, h);
  studio.painted += 1;
}

// a DPR change (the window moved to another screen, a zoom) repaints every canvas
window.addEventListener("resize", () => {
  for (const canvas of painters.keys()) paint(canvas);
});

export function drawTakePlot(plot) {
  // Each control's values over the take, one colour each; the model's events in its colour.
  return (ctx, w, h) => {
    const t = plot.t || [];
    if (!t.length) {
      label(ctx, "no events yet", w / 2, h / 2 + 4, COLOURS.label, { align: "center" });
      return;
    }
    const t0 = t[0];
    const span = Math.max(t[t.length - 1] - t0, 1e-3);
    const X = (s) => 4 + ((s - t0) / span) * (w - 8);
    const Y = (v) => 4 + (1 - Math.min(Math.max(v, 0), 1)) * (h - 8);
    ctx.fillStyle = COLOURS.grid;
    for (const v of [0, 0.5, 1]) ctx.fillRect(0, Y(v), w, 1);
    (plot.values || []).forEach((series, c) => {
      for (let i = 0; i < series.length; i += 1) {
        const model = plot.model?.[i];
        ctx.fillStyle = model ? COLOURS.model : COLOURS.controls[c % COLOURS.controls.length];
        ctx.fillRect(X(t[i]) - 1, Y(series[i]) - 1, 2.2, 2.2);
      }
    });
    label(ctx, secs(span), w - 6, h - 6, COLOURS.label, { align: "right" });
  };
}

export function drawLoss(job) {
  // Train and validation NLL per epoch; the best epoch ringed; x runs to the planned epochs.
  return (ctx, w, h) => {
    const history = job.history || [];
    const pad = { l: 46, r: 10, t: 10, b: 22 };
    const epochs = Math.max(
      job.epochs || 1,
      history.length ? history[history.length - 1].epoch : 1,
    );
    const values = history.flatMap((e) => [e.train, e.val]).filter(Number.isFinite);
    if (!values.length) {
      label(
        ctx,
        job.state === "running" ? "waiting for the first epoch…" : "no epochs",
        w / 2,
        h / 2,
        COLOURS.label,
        { align: "center" },
      );
      return;
    }
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
    const margin = (hi - lo) * 0.08;
    [lo, hi] = [lo - margin, hi + margin];
    const X = (epoch) => pad.l + (epoch / epochs) * (w - pad.l - pad.r);
    const Y = (v) => pad.t + ((hi - v) / (hi - lo)) * (h - pad.t - pad.b);
    drawLossGrid(ctx, w, h, pad, lo, hi, epochs, X, Y);
    drawCurve(ctx, history, "train", COLOURS.train, X, Y);
    drawCurve(ctx, history, "val", COLOURS.val, X, Y);
    if (job.best && Number.isFinite(job.best.val)) {
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(X(job.best.epoch), Y(job.best.val), 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
  };
}

function drawLossGrid(ctx, w, h, pad, lo, hi, epochs, X, Y) {
  for (let i = 0; i <= 4; i += 1) {
    const v = lo + ((hi - lo) * i) / 4;
    ctx.fillStyle = COLOURS.grid;
    ctx.fillRect(pad.l, Y(v), w - pad.l - pad.r, 1);
    label(ctx, v.toFixed(2), pad.l - 6, Y(v) + 4, COLOURS.label, { align: "right" });
  }
  const step = Math.max(1, Math.ceil(epochs / 8));
  for (let e = 0; e <= epochs; e += step)
    label(ctx, String(e), X(e), h - 6, COLOURS.label, { align: "center" });
}

function drawCurve(ctx, history, key, colour, X, Y) {
  const points = history.filter((e) => Number.isFinite(e[key]));
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (const [i, e] of points.entries()) {
    if (i) ctx.lineTo(X(e.epoch), Y(e[key]));
    else ctx.moveTo(X(e.epoch), Y(e[key]));
  }
  ctx.stroke();
  for (const e of points) ctx.fillRect(X(e.epoch) - 2, Y(e[key]) - 2, 4, 4);
}
