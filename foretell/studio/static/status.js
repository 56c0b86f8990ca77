// The header: the studio's status (GET /api/status, every second), whether the API answers,
// and whether this machine can train; each status also ticks the checklist.
import { $, showOnline } from "../shared/dom.js";
import { api } from "./api.js";
import { tickChecklist } from "./checklist.js";
import { currentTakeName, num, playingName, statusField, studio } from "./state.js";

/** Reads the status and shows it: the status, or null when the API did not answer. */
export async function refreshStatus() {
  try {
    studio.status = await api("GET", "/api/status");
    setOnline(true);
  } catch {
    setOnline(false);
    return null;
  }
  showStatus(studio.status);
  tickChecklist();
  return studio.status;
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
}
