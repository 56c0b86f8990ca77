// The dashboard's colours and canvas sizing (shared/canvas.js: each frame the backing store is
// the canvas's CSS box × devicePixelRatio, read afresh).
import { canvasBoxes, fit, label as drawLabel, PALETTE } from "./shared/canvas.js";

export const COLOURS = {
  user: PALETTE.user,
  pad: PALETTE.user,
  osc: PALETTE.osc,
  midi: PALETTE.midi,
  serial: PALETTE.serial,
  websocket: PALETTE.websocket,
  other: PALETTE.other,
  model: PALETTE.model,
  expect: PALETTE.expectRgb,
  grid: "rgba(255,255,255,0.06)",
  label: PALETTE.label,
  now: "rgba(255,255,255,0.45)",
  bg: PALETTE.bg,
  steer: "rgba(255,210,74,0.16)",
  held: PALETTE.midi,
};

const boxes = canvasBoxes();

/** @param {HTMLCanvasElement} canvas sized to its box × DPR and cleared; draw in CSS pixels */
export function fitCanvas(canvas) {
  return fit(canvas, boxes.of(canvas), COLOURS.bg);
}

export const label = drawLabel;
