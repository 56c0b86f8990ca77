// The Models tab: each model with its facts and held-out NLL, Perform (with its mode), upload,
// download, delete, and the comparison of two models on one take.
import { $, el } from "../shared/dom.js";
import { act, api, path, showError } from "./api.js";
import { armed, facts, fillSelect, itemCard, kB, nats, renderList, when } from "./lists.js";
import { studio } from "./state.js";
import { refreshStatus } from "./status.js";

export async function refreshModels() {
  const listing = await act("models-error", () => api("GET", "/api/models"));
  if (!listing) return;
  studio.models = listing.models;
  studio.playing = listing.playing;
  renderList(
    $("model-list"),
    studio.models,
    buildModel,
    updateModel,
    "no models yet: train one, or upload one",
  );
  const names = studio.models.map((m) => m.name);
  fillSelect($("compare-a"), names, "no models");
  const refilled = fillSelect($("compare-b"), names, "no models");
  if (refilled && names.length > 1 && $("compare-a").value === $("compare-b").value) {
    $("compare-b").value = names[1]; // two different models to start with
  }
}

function buildModel() {
  const error = el("div", { class: "error", role: "alert" });
  const name = () => node.dataset.name;
  const mode = modeSelect(() => name() === studio.playing && perform(name(), error, mode.value));
  const node = itemCard("model", el("span", { class: "badge playing" }, "playing"), [
    el(
      "div",
      { class: "actions" },
      el(
        "button",
        { class: "perform primary", onclick: () => perform(name(), error, mode.value) },
        "Perform",
      ),
      mode,
      el("a", { class: "button download" }, "download"),
      armed(el("button", { class: "delete danger" }, "delete"), () =>
        act(error, async () => {
          await api("DELETE", `/api/models/${path(name())}`);
          await refreshModels();
        }),
      ),
    ),
    error,
  ]);
  return node;
}

function updateModel(node, m) {
  const playing = m.playing || m.name === studio.playing;
  node.classList.toggle("playing", playing);
  node.classList.toggle("broken", Boolean(m.broken));
  node.querySelector(".item-name").textContent = m.name;
  node.querySelector(".badge.playing").hidden = !playing;
  node.querySelector(".facts").replaceWith(m.broken ? brokenFacts(m.broken) : modelFacts(m));
  node.querySelector(".perform").disabled = playing || Boolean(m.broken);
  showMode(node.querySelector(".perform-mode"), playing);
  node.querySelector(".delete").disabled = playing;
  node.querySelector(".download").href = `/api/models/${path(m.name)}/download`;
  node.querySelector(".download").download = `${m.name}.ftm`;
}

function modelFacts(m) {
  const kind = m.kind && m.kind !== "dense" ? [m.kind, "model"] : null;
  const lstm = m.layers && m.units ? [`${m.layers}×${m.units}`, "LSTM"] : null;
  return facts(
    m.size ? [m.size, "size"] : null,
    kind,
    lstm,
    m.mixtures ? [m.mixtures, "mixtures"] : null,
    [Math.max(0, (m.dimension || 1) - 1), "controls"],
    trainedOn(m.data),
    heldOut(m),
    kB(m.bytes || 0),
    when(m.created),
  );
}

function brokenFacts(why) {
  // A file in models/ that cannot be read: why, in the listing's one line (delete it here).
  return facts(el("span", { class: "broken-why" }, `cannot be read: ${why}`));
}

function trainedOn(data) {
  // {"name", "events", "best_val_nll"} of the data the model learnt from (or just a name).
  if (!data) return null;
  if (typeof data !== "object") return `trained on ${data}`;
  if (!data.name && !data.events) return null;
  const best = Number.isFinite(data.best_val_nll) ? `, best val ${nats(data.best_val_nll)}` : "";
  const events = data.events ? ` (${data.events} events${best})` : "";
  return `trained on ${data.name || "?"}${events}`;
}

function heldOut(m) {
  // The NLL on the newest take the model was not trained on, or that it is being computed.
  if (!m.newest_take) return el("span", { class: "nll" }, "no take to test on");
  const done = m.nll_newest_take !== null && m.nll_newest_take !== undefined;
  return el(
    "span",
    { class: "nll" },
    `held-out NLL on ${m.newest_take}: `,
    done ? el("b", {}, nats(m.nll_newest_take)) : "computing…",
    done ? " nats/event" : "",
  );
}

export function modelsComputing() {
  return studio.models.some(
    (m) => m.newest_take && (m.nll_newest_take === null || m.nll_newest_take === undefined),
  );
}

// The modes Perform offers (those in which the model plays), beside each Perform button.
const PERFORM_MODES = [
  ["callresponse", "call and response"],
  ["filter", "filter"],
  ["battle", "battle"],
];

export function modeSelect(changed) {
  // A mode chooser; it follows the project's playing mode until the user picks one.
  const select = el(
    "select",
    {
      class: "perform-mode",
      title: "the mode Perform plays in",
      "aria-label": "mode",
      onchange: () => {
        select.dataset.chosen = "1";
        changed();
      },
    },
    ...PERFORM_MODES.map(([value, label]) => new Option(label, value)),
  );
  showMode(select, false);
  return select;
}

function showMode(select, playing) {
  // The playing model's select shows the live mode; the others the default, unless chosen.
  const s = studio.status || {};
  const wanted = playing ? s.mode : select.dataset.chosen ? null : s.perform_mode;
  if (
    wanted &&
    PERFORM_MODES.some(([value]) => value === wanted) &&
    select !== document.activeElement
  )
    select.value = wanted;
  if (playing) delete select.dataset.chosen;
}

export async function perform(name, errorLine, mode) {
  const body = mode ? { model: name, mode } : { model: name };
  const reply = await act(errorLine, () => api("POST", "/api/perform", body));
  if (!reply) return;
  if (reply.not_saved)
    showError(
      typeof errorLine === "string" ? $(errorLine) : errorLine,
      `playing, but not remembered: ${reply.not_saved}`,
    );
  setTimeout(() => Promise.all([refreshStatus(), refreshModels()]), 400);
}

export async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) {
    showError($("upload-error"), "choose a model file first");
    return;
  }
  const reply = await act("upload-error", () =>
    api(
      "POST",
      `/api/models/upload?name=${encodeURIComponent(file.name)}`,
      file,
      "application/octet-stream",
    ),
  );
  if (!reply) return;
  $("upload-file").value = "";
  await refreshModels();
}

export async function compare(event) {
  event.preventDefault();
  const query = new URLSearchParams({
    a: $("compare-a").value,
    b: $("compare-b").value,
    take: $("compare-take").value,
  });
  $("compare-result").hidden = true;
  const reply = await act("compare-error", () => api("GET", `/api/compare?${query}`));
  if (!reply) return;
  studio.compare = reply;
  showCompare(reply);
}

function showCompare(reply) {
  const { a, b } = reply;
  const better = a.nll < b.nll ? "a" : b.nll < a.nll ? "b" : null;
  const side = (key, r) =>
    el(
      "div",
      { class: `side ${better === key ? "better" : ""}`, "data-side": key },
      el("div", { class: "muted small" }, key.toUpperCase()),
      el("div", { class: "item-name" }, r.model),
      el("div", { class: "nll" }, nats(r.nll)),
      el("div", { class: "muted small" }, "nats/event"),
    );
  const summary = better
    ? `on ${reply.take} (${reply.events} events) ${reply[better].model} is better by ${Math.abs(a.nll - b.nll).toFixed(3)} nats/event`
    : `on ${reply.take} (${reply.events} events) both score the same`;
  $("compare-result").replaceChildren(
    side("a", a),
    side("b", b),
    el("div", { class: "summary" }, summary),
  );
  $("compare-result").hidden = false;
}
