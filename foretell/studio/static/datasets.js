// The Datasets tab: build one from the takes ticked; the datasets there are.
import { $, el } from "../shared/dom.js";
import { act, api, path } from "./api.js";
import { armed, facts, fillSelect, kB, renderList } from "./lists.js";
import { studio } from "./state.js";

export function showDatasetTakes() {
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

export async function refreshDatasets() {
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

export async function buildDatasetFromForm(event) {
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
