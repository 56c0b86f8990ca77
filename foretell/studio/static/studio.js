// foretell studio: record takes, build datasets, train, compare and perform, from one page.
//
// Every action is one request to the JSON API under /api/ (api.js, docs/studio.md), the same one
// curl can use; the page keeps no state of its own beyond the checklist (localStorage). Perform
// is the dashboard (/) in an iframe as tall as its content (frame.js: only this page scrolls).
// The parts: state.js (what the page last read, `window.studio`), api.js, lists.js (the keyed
// lists and their facts), plots.js (the canvases), status.js (the header), checklist.js, one
// module per tab (takes.js, datasets.js, training.js, models.js, config.js) and frame.js (the
// dashboard's frame on Perform); this entry module shows the tabs and keeps them fresh.
import { $ } from "../shared/dom.js";
import { every } from "./api.js";
import { checklistOpen, setDismissed } from "./checklist.js";
import { configEdited, loadConfig, markConfigEdited, saveConfig } from "./config.js";
import { buildDatasetFromForm, refreshDatasets } from "./datasets.js";
import { FRAME_EVERY_MS, fitDashboard } from "./frame.js";
import { compare, modelsComputing, refreshModels, upload } from "./models.js";
import { playingName, studio } from "./state.js";
import { refreshStatus } from "./status.js";
import { newTake, refreshTakes } from "./takes.js";
import { cancelJob, refreshJobs, startTraining, watchJob } from "./training.js";

const STATUS_EVERY_MS = 1000;
const LIST_EVERY_MS = 2000;
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

/** The status, and what it asks of the tab shown: a job to follow, the models' new player. */
async function pollStatus() {
  const s = await refreshStatus();
  if (!s) return;
  if (s.job && tab === "train") watchJob(s.job); // a job started elsewhere (curl, another page)
  const playing = playingName(s);
  if (studio.playing !== playing) {
    studio.playing = playing;
    if (tab === "models") refreshModels();
  }
}

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
every(STATUS_EVERY_MS, pollStatus);
every(LIST_EVERY_MS, refreshTab, false); // showTab listed it already
every(CHECKLIST_EVERY_MS, backgroundLists);
every(FRAME_EVERY_MS, () => fitDashboard(), false);
