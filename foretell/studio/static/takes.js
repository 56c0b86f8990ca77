// The Takes tab: every take with its plot; a new take closes the one being recorded.
import { $, el } from "../shared/dom.js";
import { act, api, path } from "./api.js";
import { showDatasetTakes } from "./datasets.js";
import { armed, facts, fillSelect, itemCard, kB, renderList, secs, when } from "./lists.js";
import { drawTakePlot, setPainter } from "./plots.js";
import { studio } from "./state.js";
import { refreshStatus } from "./status.js";

export async function refreshTakes() {
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
  const node = itemCard(
    "take",
    el("span", { class: "badge rec" }, "recording"),
    [actions, rename, error],
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

export async function newTake(event) {
  event.preventDefault();
  const name = $("take-name").value.trim();
  const reply = await act("take-error", () => api("POST", "/api/takes/new", { name }));
  if (!reply) return;
  $("take-name").value = "";
  await Promise.all([refreshTakes(), refreshStatus()]);
}
