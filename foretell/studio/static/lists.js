// The lists of takes, datasets and models: kept by name, so an item keeps its element (and any
// field being typed in) while it lasts; and the small formatters their facts use.
import { el } from "../shared/dom.js";

const ARMED_MS = 4000; // a delete button waits this long for its second click

export function renderList(box, items, build, update, emptyText) {
  // Keyed by name: an item keeps its element (and any field being typed in) while it lasts.
  const old = new Map(
    [...box.children].filter((c) => c.dataset.name).map((c) => [c.dataset.name, c]),
  );
  const nodes = items.map((item) => {
    const node = old.get(item.name) || build(item);
    node.dataset.name = item.name;
    update(node, item);
    return node;
  });
  const wanted = nodes.length ? nodes : [el("div", { class: "empty" }, emptyText)];
  const same =
    nodes.length === box.children.length && nodes.every((node, i) => box.children[i] === node);
  if (!same) box.replaceChildren(...wanted); // moving an element would lose a field's focus
}

export function fillSelect(select, names, empty) {
  // Options for names; the chosen one stays chosen while it exists.
  const chosen = select.value;
  const options = names.length ? names.map((n) => new Option(n, n)) : [new Option(empty, "")];
  const same =
    select.options.length === options.length &&
    [...select.options].every((o, i) => o.value === options[i].value);
  if (!same) select.replaceChildren(...options);
  if (names.includes(chosen)) select.value = chosen;
  return !same;
}

export function armed(button, action) {
  // A click arms the button ("sure?"); a second click within ARMED_MS does it.
  const label = button.textContent;
  let timer = null;
  button.addEventListener("click", () => {
    if (!button.classList.contains("armed")) {
      button.classList.add("armed");
      button.textContent = `${label}: sure?`;
      timer = setTimeout(() => disarm(), ARMED_MS);
      return;
    }
    disarm();
    action();
  });
  function disarm() {
    clearTimeout(timer);
    button.classList.remove("armed");
    button.textContent = label;
  }
  return button;
}

export const kB = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);
export const secs = (s) =>
  s === null || s === undefined ? "–" : s < 90 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
export const nats = (x) => (x === null || x === undefined ? "–" : x.toFixed(3));

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

export function facts(...parts) {
  // "a · b · c" with the numbers bold; parts that are null are left out.
  const span = el("div", { class: "facts" });
  parts
    .filter((p) => p !== null && p !== undefined && p !== "")
    .forEach((part, i) => {
      if (i) span.append(" · ");
      if (Array.isArray(part)) span.append(el("b", {}, String(part[0])), ` ${part[1]}`);
      else span.append(part);
    });
  return span;
}

/** A list item's card: a head (its name and `badge`), its facts, then `body`; `aside` beside. */
export function itemCard(kind, badge, body, ...aside) {
  const head = el("div", { class: "item-head" }, el("span", { class: "item-name" }), badge);
  return el(
    "div",
    { class: `card item ${kind}` },
    el("div", {}, head, el("div", { class: "facts" }), ...body),
    ...aside,
  );
}
