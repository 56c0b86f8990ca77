// The Train tab: start a job, follow it (every JOB_EVERY_MS: its loss curve, epoch, best, ETA),
// cancel it, and perform the model it made.
import { $, el } from "../shared/dom.js";
import { act, api, path } from "./api.js";
import { nats, secs } from "./lists.js";
import { modeSelect, perform, refreshModels } from "./models.js";
import { drawLoss, setPainter } from "./plots.js";
import { studio } from "./state.js";

const JOB_EVERY_MS = 500;

let polling = null; // the job id being polled

export async function refreshJobs() {
  const listing = await act("train-error", () => api("GET", "/api/jobs"));
  if (!listing) return;
  studio.jobs = listing.jobs;
  const running = studio.jobs.find((j) => j.state === "running");
  if (running) watchJob(running.id);
  else if (!studio.job && studio.jobs.length) showJob(studio.jobs[0]);
}

export async function startTraining(event) {
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

export function watchJob(id) {
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

export async function cancelJob() {
  if (!studio.job) return;
  const job = await act("job-error", () => api("DELETE", `/api/jobs/${path(studio.job.id)}`));
  if (job) showJob(job);
}
