// foretell studio: record takes, build datasets, train, compare and perform, from one page.
//
// Every action is one request to the JSON API under /api/ (api.js, docs/studio.md), the same one
// curl can use; the page keeps no state of its own beyond the checklist (localStorage). Perform
// is the dashboard (/) in an iframe as tall as its content (frame.js: only this page scrolls).
// The parts: state.js (what the page last read, `window.studio`), api.js, lists.js (the keyed
// lists and their facts), plots.js (the canvases), checklist.js, config.js, frame.js; this entry
// module has the tabs, the header's status, and the takes, datasets, training and models tabs.
import { $, el, showOnline } from "../shared/dom.js";
import { act, api, every, path, showError } from "./api.js";
import { checklistOpen, setDismissed, tickChecklist } from "./checklist.js";
import { configEdited, loadConfig, markConfigEdited, saveConfig } from "./config.js";
import { FRAME_EVERY_MS, fitDashboard } from "./frame.js";
import { armed, facts, fillSelect, kB, nats, renderList, secs, when } from "./lists.js";
import { drawLoss, drawTakePlot, setPainter } from "./plots.js";
import { currentTakeName, num, playingName, statusField, studio } from "./state.js";

const STATUS_EVERY_MS = 1000;
const LIST_EVERY_MS = 2000;
const JOB_EVERY_MS = 500;
const CHECKLIST_EVERY_MS = 5000;
const TABS = ["perform", "takes", "datasets", "train", "models", "config"];

// -- tabs ------------------------------------------------------------------------------------

let tab = null;

function showTab(name) {
  tab = TABS.includes(name) ? name : "perform";
  for (const section of TABS) $(section).hidden = section !== tab;
  for (const link of $("tabs").children) link.classList.toggle("active", link.dataset.tab === tab);
  if (tab === "perform" && !$("dashboard").src) $("dashboard").src = $("dashboard").dataset.src;
  if (tab === "perform") fitDashboard(true);
  if (tab === "config" && !configEdited()) loadConfig();
  if (tab === "train") refreshJobs();
  refreshTab();
}

async function refreshTab() {
  // What the shown tab lists (polled every LIST_EVERY_MS while it is shown).
  if (tab === "takes") await refreshTakes();
  if (tab === "datasets") await Promise.all([refreshTakes(), refreshDatasets()]);
  if (tab === "train") await refreshDatasets();
  if (tab === "models") await Promise.all([refreshModels(), refreshTakes()]);
}

// -- status: the header and the checklist -----------------------------------------------------

async function refreshStatus() {
  try {
    studio.status = await api("GET", "/api/status");
    setOnline(true);
  } catch {
    setOnline(false);
    return;
  }
  showStatus(studio.status);
  tickChecklist();
}

function showCanTrain(can) {
  // Where torch is missing (a Pi set up to perform only) training is refused: say so up front.
  $("train-start").disabled = !can;
  $("train-note").textContent = can
    ? ""
    : "this machine cannot train (no torch): train on a laptop and upload the model under Models";
}

function setOnline(on) {
  studio.online = on;
  showOnline($("conn"), on);
}

function showStatus(s) {
  $("project").textContent = s.project ? String(s.project).split("/").pop() : "";
  $("project").title = s.project || "";
  $("mode-pill").textContent = s.mode || "–";
  const playing = playingName(s);
  $("playing-pill").textContent = playing ? `▶ ${playing}` : "no model";
  $("playing-pill").classList.toggle("on", Boolean(playing));
  const take = currentTakeName(s);
  $("take-pill").textContent = take || "not recording";
  $("take-pill").hidden = !take;
  const inputs = num(statusField(s, "inputs"));
  const answers = num(statusField(s, "answers"));
  $("counts").textContent = `${inputs} in · ${answers} answers`;
  showCanTrain(s.can_train !== false);
  if (s.job && tab === "train") watchJob(s.job); // a job started elsewhere (curl, another page)
  if (studio.playing !== playing) {
    studio.playing = playing;
    if (tab === "models") refreshModels();
  }
}

// -- takes -----------------------------------------------------------------------------------

async function refreshTakes() {
  const listing = await act("takes-error", () => api("GET", "/api/takes"));
  if (!listing) return;
  studio.takes = listing.takes;
  renderList(
    $("take-list"),
    studio.takes,
    buildTake,
    updateTake,
    "no takes yet: play, and they appear here",
  );
  showDatasetTakes();
  fillSelect(
    $("compare-take"),
    studio.takes.map((t) => t.name),
    "no takes",
  );
}

function buildTake() {
  const name = () => node.dataset.name;
  const error = el("div", { class: "error", role: "alert" });
  const input = el("input", { "aria-label": "the take's new name", autocomplete: "off" });
  const rename = el(
    "form",
    { class: "rename", hidden: true },
    input,
    el("button", { type: "submit" }, "OK"),
    el("button", { type: "button", onclick: () => (rename.hidden = true) }, "cancel"),
  );
  rename.addEventListener("submit", (event) => {
    event.preventDefault();
    act(error, async () => {
      await api("POST", `/api/takes/${path(name())}/rename`, { name: input.value.trim() });
      rename.hidden = true;
      await refreshTakes();
    });
  });
  const actions = el(
    "div",
    { class: "actions" },
    el(
      "button",
      {
        class: "rename-button",
        onclick: () => {
          rename.hidden = false;
          input.value = name();
          input.focus();
        },
      },
      "rename",
    ),
    el("a", { class: "button download" }, "download"),
    armed(el("button", { class: "delete danger" }, "delete"), () =>
      act(error, async () => {
        await api("DELETE", `/api/takes/${path(name())}`);
        await refreshTakes();
      }),
    ),
  );
  const canvas = el("canvas", { "aria-label": "the take's controls over time" });
  const node = el(
    "div",
    { class: "card item take" },
    el(
      "div",
      {},
      el(
        "div",
        { class: "item-head" },
        el("span", { class: "item-name" }),
        el("span", { class: "badge rec" }, "recording"),
      ),
      el("div", { class: "facts" }),
      actions,
      rename,
      error,
    ),
    el("div", { class: "canvas-box plot-box" }, canvas),
  );
  return node;
}

function updateTake(node, take) {
  node.classList.toggle("current", Boolean(take.current));
  node.querySelector(".item-name").textContent = take.name;
  node.querySelector(".badge.rec").hidden = !take.current;
  node
    .querySelector(".facts")
    .replaceWith(
      facts(
        when(take.start),
        [take.events, "events"],
        [take.model_events, "model"],
        [secs(take.duration), ""],
        [Math.max(0, (take.dimension || 1) - 1), "controls"],
        kB(take.bytes || 0),
      ),
    );
  node.querySelector(".rename-button").disabled = Boolean(take.current);
  node.querySelector(".delete").disabled = Boolean(take.current);
  node.querySelector(".download").href = `/api/takes/${path(take.name)}/download`;
  node.querySelector(".download").download = take.file
    ? String(take.file).split("/").pop()
    : `${take.name}.log`;
  refreshPlot(node.querySelector("canvas"), take, node.querySelector(".error"));
}

async function refreshPlot(canvas, take, error) {
  // Fetched again only when the take changed (the one being recorded grows).
  const key = `${take.name}:${take.events}:${take.model_events}`;
  if (canvas.dataset.key === key) return;
  canvas.dataset.key = key;
  const plot = await act(error, () => api("GET", `/api/takes/${path(take.name)}/plot`));
  if (!plot) return;
  studio.plots[take.name] = plot;
  setPainter(canvas, drawTakePlot(plot));
}

async function newTake(event) {
  event.preventDefault();
  const name = $("take-name").value.trim();
  const reply = await act("take-error", () => api("POST", "/api/takes/new", { name }));
  if (!reply) return;
  $("take-name").value = "";
  await Promise.all([refreshTakes(), refreshStatus()]);
}

// -- datasets --------------------------------------------------------------------------------

function showDatasetTakes() {
  const box = $("dataset-takes");
  const ticked = new Set([...box.querySelectorAll("input:checked")].map((i) => i.value));
  const labels = studio.takes.map((take) =>
    el(
      "label",
      {},
      el("input", { type: "checkbox", value: take.name, checked: ticked.has(take.name) }),
      `${take.name} `,
      el(
        "span",
        { class: "muted small" },
        `${take.events} events${take.current ? " · recording" : ""}`,
      ),
    ),
  );
  box.replaceChildren(
    ...(labels.length ? labels : [el("span", { class: "muted" }, "no takes yet")]),
  );
}

async function refreshDatasets() {
  const listing = await act("datasets-error", () => api("GET", "/api/datasets"));
  if (!listing) return;
  studio.datasets = listing.datasets;
  renderList($("dataset-list"), studio.datasets, buildDataset, updateDataset, "no datasets yet");
  fillSelect(
    $("train-dataset"),
    studio.datasets.map((d) => d.name),
    "build a dataset first",
  );
}

function buildDataset() {
  const error = el("div", { class: "error", role: "alert" });
  const node = el(
    "div",
    { class: "card item dataset" },
    el(
      "div",
      {},
      el("div", { class: "item-head" }, el("span", { class: "item-name" })),
      el("div", { class: "facts" }),
      el(
        "div",
        { class: "actions" },
        armed(el("button", { class: "delete danger" }, "delete"), () =>
          act(error, async () => {
            await api("DELETE", `/api/datasets/${path(node.dataset.name)}`);
            await refreshDatasets();
          }),
        ),
      ),
      error,
    ),
  );
  return node;
}

function updateDataset(node, d) {
  node.querySelector(".item-name").textContent = d.name;
  node
    .querySelector(".facts")
    .replaceWith(
      facts(
        [d.events, "events"],
        [d.performances, "performances"],
        [Math.max(0, (d.dimension || 1) - 1), "controls"],
        kB(d.bytes || 0),
        (d.takes || []).length ? `from ${d.takes.join(", ")}` : null,
      ),
    );
}

async function buildDatasetFromForm(event) {
  event.preventDefault();
  const takes = [...$("dataset-takes").querySelectorAll("input:checked")].map((i) => i.value);
  const name = $("dataset-name").value.trim();
  $("dataset-note").textContent = "";
  const reply = await act("dataset-error", () => api("POST", "/api/datasets", { name, takes }));
  if (!reply) return;
  const d = reply.dataset;
  const skipped = reply.skipped?.length ? ` (skipped: ${reply.skipped.join(", ")})` : "";
  $("dataset-note").textContent =
    `built ${d.name}: ${d.events} events, ${d.performances} performances${skipped}`;
  $("dataset-name").value = "";
  await refreshDatasets();
}

// -- training --------------------------------------------------------------------------------

let polling = null; // the job id being polled

async function refreshJobs() {
  const listing = await act("train-error", () => api("GET", "/api/jobs"));
  if (!listing) return;
  studio.jobs = listing.jobs;
  const running = studio.jobs.find((j) => j.state === "running");
  if (running) watchJob(running.id);
  else if (!studio.job && studio.jobs.length) showJob(studio.jobs[0]);
}

async function startTraining(event) {
  event.preventDefault();
  const body = {
    dataset: $("train-dataset").value,
    size: $("train-size").value,
    name: $("train-name").value.trim(),
  };
  const epochs = $("train-epochs").value.trim();
  if (epochs) body.epochs = Number(epochs);
  const reply = await act("train-error", () => api("POST", "/api/train", body));
  if (reply) watchJob(reply.job);
}

function watchJob(id) {
  if (polling === id) return;
  polling = id;
  const poll = async () => {
    if (polling !== id) return;
    const job = await act("job-error", () => api("GET", `/api/jobs/${path(id)}`));
    if (job) showJob(job);
    if (!job || job.state === "running") setTimeout(poll, JOB_EVERY_MS);
    else {
      polling = null;
      refreshModels();
    }
  };
  poll();
}

function showJob(job) {
  studio.job = job;
  $("job").hidden = false;
  $("job-title").textContent = `${job.name} · ${job.size} on ${job.dataset}`;
  $("job-state").textContent = job.state;
  $("job-epoch").textContent = `${job.epoch ?? 0} / ${job.epochs ?? "?"}`;
  $("job-best").textContent = job.best ? `${nats(job.best.val)} at epoch ${job.best.epoch}` : "–";
  $("job-time").textContent =
    `${secs(job.elapsed_s)} · ${job.state === "running" ? secs(job.eta_s) : "–"}`;
  $("job-cancel").hidden = job.state !== "running";
  const ending = `${job.id}:${job.state}:${job.model}:${job.ending}`;
  if ($("job-ending").dataset.shown !== ending) {
    // kept while it says the same: a chosen mode stays
    $("job-ending").dataset.shown = ending;
    $("job-ending").replaceChildren(...jobEnding(job));
  }
  $("job-error").textContent = job.error || $("job-error").textContent;
  setPainter($("loss"), drawLoss(job));
}

function jobEnding(job) {
  if (job.state === "running") return [];
  const parts = [el("b", {}, job.state), job.ending ? `: ${job.ending}` : ""];
  if (job.model) {
    const mode = modeSelect(() => {});
    parts.push(
      " · new model ",
      el("b", { class: "new-model" }, job.model),
      " ",
      el(
        "button",
        { class: "primary perform", onclick: () => perform(job.model, "job-error", mode.value) },
        "Perform it",
      ),
      " ",
      mode,
    );
  }
  return parts;
}

async function cancelJob() {
  if (!studio.job) return;
  const job = await act("job-error", () => api("DELETE", `/api/jobs/${path(studio.job.id)}`));
  if (job) showJob(job);
}

// -- models ----------------------------------------------------------------------------------

async function refreshModels() {
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
  const node = el(
    "div",
    { class: "card item model" },
    el(
      "div",
      {},
      el(
        "div",
        { class: "item-head" },
        el("span", { class: "item-name" }),
        el("span", { class: "badge playing" }, "playing"),
      ),
      el("div", { class: "facts" }),
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
    ),
  );
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

function modelsComputing() {
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

function modeSelect(changed) {
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

async function perform(name, errorLine, mode) {
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

async function upload(event) {
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

async function compare(event) {
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

// -- config ----------------------------------------------------------------------------------

// -- start -----------------------------------------------------------------------------------

function setup() {
  $("take-form").addEventListener("submit", newTake);
  $("dataset-form").addEventListener("submit", buildDatasetFromForm);
  $("train-form").addEventListener("submit", startTraining);
  $("job-cancel").addEventListener("click", cancelJob);
  $("upload-form").addEventListener("submit", upload);
  $("compare-form").addEventListener("submit", compare);
  $("config-save").addEventListener("click", saveConfig);
  $("config-reload").addEventListener("click", loadConfig);
  $("config-text").addEventListener("input", markConfigEdited);
  $("checklist-dismiss").addEventListener("click", () => setDismissed(true));
  $("checklist-show").addEventListener("click", () => setDismissed(false));
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  window.addEventListener("resize", () => fitDashboard(true));
  $("dashboard").addEventListener("load", () => fitDashboard(true));
}

async function backgroundLists() {
  // The checklist ticks itself from the lists too, while it is open; NLLs still computing.
  if (checklistOpen()) await Promise.all([refreshTakes(), refreshDatasets(), refreshModels()]);
  else if (tab !== "models" && modelsComputing()) await refreshModels();
}

setup();
showTab(location.hash.slice(1));
every(STATUS_EVERY_MS, refreshStatus);
every(LIST_EVERY_MS, refreshTab, false); // showTab listed it already
every(CHECKLIST_EVERY_MS, backgroundLists);
every(FRAME_EVERY_MS, () => fitDashboard(), false);
