// Canvases shared by the dashboard and the studio: the palette, a canvas's size, a label.
//
// Each canvas fills a .canvas-box; a ResizeObserver keeps its CSS size, and the backing store is
// set to that size × devicePixelRatio each time it is drawn (so a DPR change, e.g. a window moved
// to another screen, is followed at once); the store never feeds back into the layout.

/** The colours both pages draw with (the CSS variables of theme.css, for canvases). */
export const PALETTE = Object.freeze({
  bg: "#0d121c",
  label: "#7d8799",
  user: "#3dd6f5",
  osc: "#5ee38b",
  midi: "#ffd24a",
  serial: "#ff6fb5",
  websocket: "#7f9bff",
  other: "#c3cad6",
  model: "#ff8a3d",
  expect: "#b58cff",
  expectRgb: "181,140,255", // for rgba(expectRgb, alpha)
});

/** @typedef {{w: number, h: number}} Box a canvas's CSS size */

/**
 * The CSS boxes of canvases, kept by one ResizeObserver; `onResize(canvas)` after each change.
 * @param {(canvas: Element) => void} [onResize]
 */
export function canvasBoxes(onResize = () => {}) {
  /** @type {WeakMap<Element, Box>} */
  const boxes = new WeakMap();
  const sizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const box = entry.contentBoxSize?.[0];
      const w = box ? box.inlineSize : entry.contentRect.width;
      const h = box ? box.blockSize : entry.contentRect.height;
      boxes.set(entry.target, { w, h });
      onResize(entry.target);
    }
  });
  return {
    /**
     * The canvas's box; at first sight it is measured once and observed from then on.
     * @param {HTMLCanvasElement} canvas
     * @returns {Box}
     */
    of(canvas) {
      let box = boxes.get(canvas);
      if (!box) {
        sizer.observe(canvas);
        box = { w: canvas.clientWidth, h: canvas.clientHeight };
        boxes.set(canvas, box);
      }
      return box;
    },
    /** @param {HTMLCanvasElement} canvas no longer observed (it left the page) */
    forget(canvas) {
      sizer.unobserve(canvas);
      boxes.delete(canvas);
    },
  };
}

/**
 * Sizes the backing store to the CSS box × DPR and clears it to `background`; drawing is in CSS
 * pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {Box} box
 * @param {string} [background]
 * @returns {{ctx: CanvasRenderingContext2D, w: number, h: number}}
 */
export function fit(canvas, { w, h }, background = PALETTE.bg) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(w * dpr));
  const height = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(width / Math.max(w, 1e-3), 0, 0, height / Math.max(h, 1e-3), 0, 0);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, w, h);
  return { ctx, w, h };
}

/**
 * A line of small text. `align` as canvas's textAlign; `backdrop` puts a dark box behind it
 * (readable over events).
 * @param {CanvasRenderingContext2D} ctx
 * @param {string} text
 * @param {number} x
 * @param {number} y
 * @param {string} [colour]
 * @param {{align?: CanvasTextAlign, backdrop?: boolean}} [options]
 */
export function label(
  ctx,
  text,
  x,
  y,
  colour = PALETTE.label,
  { align = "left", backdrop = false } = {},
) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = align;
  if (backdrop) {
    ctx.fillStyle = "rgba(13,18,28,0.75)";
    ctx.fillRect(x - 3, y - 10, ctx.measureText(text).width + 6, 13);
  }
  ctx.fillStyle = colour;
  ctx.fillText(text, x, y);
  ctx.textAlign = "left";
}
