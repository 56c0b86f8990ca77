// foretell dashboard: one strip per instrument of an ensemble (app.js builds them from "hello").
//
// A strip shows its instrument's events in one lane per control (drawn by app.js) and its state
// from the "ensemble" frames, and steers that instrument only: each control sends
// {"command": VERB, "args": [..], "instrument": NAME}. Clicking the name makes it the page's
// focus: the pad plays it, the synth sounds it, the side panel and the XY view follow it.
// Only strips in view are drawn, so dozens of instruments cost little. Compact (the default for
// more than COMPACT_OVER instruments, and the card's "compact"/"full" toggle) makes each strip one
// dense row: name, mode, pause, π/σ, events/s and a thin activity lane with all controls overlaid.
import { el, setText } from "./shared/dom.js";

export const MODE_LABELS = { callresponse: "call·resp" };
const TEXT_EVERY = 3; // text at a third of the frame rate (~10 Hz) is plenty
export const COMPACT_OVER = 6; // more instruments than this: compact rows at first

function slider(name, verb, symbol, ui) {
  const input = el("input", {
    type: "range",
    class: `strip-${verb}`,
    "data-strip-verb": verb,
    min: "0",
    max: "2",
    step: "0.01",
    value: "1",
    "aria-label": `${verb} of ${name}`,
  });
  const value = el("span", { class: "value" });
  ui.bindSlider(input, value, (v) => ui.commandTo(name, verb, v));
  return { input, nodes: [el("label", { class: "small muted" }, symbol), input, value] };
}

function strip(name, modes, ui) {
  const title = el("button", { class: "strip-name", title: `play ${name} on the pad` }, name);
  const mode = el("select", { class: "strip-mode", "aria-label": `mode of ${name}` });
  mode.append(...modes.map((m) => new Option(MODE_LABELS[m] || m, m)));
  const pause = el("button", { class: "strip-pause", title: `stop and resume ${name}` }, "pause");
  const reset = el(
    "button",
    { class: "strip-reset", title: `reset ${name}'s model state` },
    "reset",
  );
  const pi = slider(name, "pitemp", "π", ui);
  const sigma = slider(name, "sigmatemp", "σ", ui);
  const model = el("span", { class: "strip-model" }, "–");
  const rates = el("span", { class: "strip-rates" }, "");
  const canvas = el("canvas", { "aria-label": `${name}: controls over time` });
  const lanes = el("div", { class: "canvas-box strip-lanes" }, canvas); // sized by its box
  const side = el(
    "div",
    { class: "strip-side" },
    el("div", { class: "strip-line" }, title, mode, pause, reset),
    el("div", { class: "strip-line strip-temps" }, ...pi.nodes, ...sigma.nodes),
    el("div", { class: "strip-line strip-info small muted" }, model, rates),
  );
  const root = el("div", { class: "strip", "data-instrument": name }, side, lanes);

  let paused = false;
  title.addEventListener("click", () => ui.setFocus(name));
  mode.addEventListener("change", () => ui.commandTo(name, "mode", mode.value));
  pause.addEventListener("click", () => ui.commandTo(name, "pause", paused ? 0 : 1));
  reset.addEventListener("click", () => ui.commandTo(name, "reset"));

  const view = { root, canvas, controls: 3, updates: 0 };
  view.update = (entry) => {
    view.controls = Math.max(1, (entry.dimension || 4) - 1);
    paused = entry.paused;
    root.dataset.mode = entry.mode;
    root.classList.toggle("paused", entry.paused);
    if (document.activeElement !== mode && mode.value !== entry.mode) mode.value = entry.mode;
    ui.reflectSlider(pi.input, entry.pi_temp);
    ui.reflectSlider(sigma.input, entry.sigma_temp);
    if (view.updates++ % TEXT_EVERY !== 0) return;
    setText(pause, entry.paused ? "resume" : "pause");
    pause.classList.toggle("active", entry.paused);
    setText(model, entry.model || "no model");
    const rejected = entry.rejected ? ` · ${entry.rejected} rejected` : "";
    setText(
      rates,
      ` · ${entry.rates.in.toFixed(1)} in · ${entry.rates.out.toFixed(1)} out /s${rejected}`,
    );
  };
  return view;
}

export function build(box, names, modes, ui) {
  // ui: { commandTo(name, verb, ...args), setFocus(name), bindSlider(input, label, push),
  //       reflectSlider(input, value), drawStrip(canvas, name, controls, compact) }
  box.replaceChildren();
  let compact = names.length > COMPACT_OVER;
  box.classList.toggle("compact", compact);
  const views = new Map(names.map((name) => [name, strip(name, modes, ui)]));
  const shown = new Set();
  const observer = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (e.isIntersecting) shown.add(e.target.dataset.instrument);
        else shown.delete(e.target.dataset.instrument);
      }
    },
    { root: box },
  );
  for (const view of views.values()) {
    box.append(view.root);
    observer.observe(view.root);
  }
  return {
    views,
    get compact() {
      return compact;
    },
    setCompact(on) {
      compact = Boolean(on);
      box.classList.toggle("compact", compact);
    },
    update(entries) {
      for (const entry of entries) views.get(entry.name)?.update(entry);
    },
    setFocus(name) {
      for (const [n, view] of views) view.root.classList.toggle("focus", n === name);
    },
    draw() {
      for (const name of shown) {
        const view = views.get(name);
        if (view) ui.drawStrip(view.canvas, name, view.controls, compact);
      }
    },
  };
}
