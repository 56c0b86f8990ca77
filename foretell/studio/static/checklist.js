// The first steps' checklist: each step is done once its test has passed (remembered per project
// in localStorage), and it ticks itself off from what the page last read.
import { $, el } from "../shared/dom.js";
import { num, playingName, statusField, studio } from "./state.js";

const PLAY_EVENTS = 100; // the checklist's "play": this many of your events in one take

const STEPS = [
  {
    id: "connect",
    title: "connect",
    hint: "send /interface over OSC, MIDI or serial, or play the pad under Perform",
    test: () => num(statusField(studio.status, "inputs")) > 0,
  },
  {
    id: "play",
    title: "play",
    hint: `${PLAY_EVENTS} of your events in one take`,
    test: () => studio.takes.some((t) => t.events >= PLAY_EVENTS),
  },
  {
    id: "take",
    title: "take",
    hint: "New take under Takes closes the one you played",
    test: () => studio.takes.some((t) => !t.current && t.events > 0),
  },
  {
    id: "dataset",
    title: "dataset",
    hint: "tick takes under Datasets and build one",
    test: () => studio.datasets.length > 0,
  },
  {
    id: "train",
    title: "train",
    hint: "train a model on it under Train (or upload one under Models)",
    test: () => studio.models.length > 0,
  },
  {
    id: "perform",
    title: "perform",
    hint: "Perform a model under Models: its answers come back",
    test: () =>
      Boolean(playingName(studio.status)) && num(statusField(studio.status, "answers")) > 0,
  },
];

function checklistKey() {
  const s = studio.status || {};
  return `foretell.studio.checklist:${s.id || s.project || ""}`;
}

function loadChecklist() {
  try {
    const stored = JSON.parse(localStorage.getItem(checklistKey()) || "null");
    studio.checklist = { done: {}, dismissed: false, ...(stored || {}) };
  } catch {
    studio.checklist = { done: {}, dismissed: false };
  }
}

function saveChecklist() {
  localStorage.setItem(checklistKey(), JSON.stringify(studio.checklist));
}

let checklistLoaded = false;

export function tickChecklist() {
  if (!checklistLoaded) {
    loadChecklist();
    checklistLoaded = true;
  }
  let changed = false;
  for (const step of STEPS) {
    if (!studio.checklist.done[step.id] && step.test()) {
      studio.checklist.done[step.id] = true;
      changed = true;
    }
  }
  if (changed) saveChecklist();
  showChecklist();
}

function showChecklist() {
  const { done, dismissed } = studio.checklist;
  $("checklist").hidden = dismissed;
  $("checklist-show").hidden = !dismissed;
  $("steps").replaceChildren(
    ...STEPS.map((step) =>
      el(
        "li",
        { class: done[step.id] ? "done" : "", "data-step": step.id },
        el("b", {}, step.title),
        el("span", { class: "small" }, step.hint),
      ),
    ),
  );
}

export function setDismissed(dismissed) {
  studio.checklist.dismissed = dismissed;
  saveChecklist();
  showChecklist();
}

export function checklistOpen() {
  return (
    checklistLoaded &&
    !studio.checklist.dismissed &&
    STEPS.some((step) => !studio.checklist.done[step.id])
  );
}
