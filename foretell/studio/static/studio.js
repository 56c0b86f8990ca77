// foretell studio: record takes, build datasets, train, compare and perform, from one page.
//
// Every action is one request to the JSON API under /api/ (docs/studio.md), the same one curl
// can use; the page keeps no state of its own beyond the checklist (localStorage). Perform is
// the dashboard (/) in an iframe as tall as its content (only this page scrolls). Each error the API answers ({"error": "one line"}) is shown in
// the error line next to the action that caused it.
// Canvases: each fills a .canvas-box; a ResizeObserver keeps its CSS size and repaints it, the
// backing store is that size × devicePixelRatio, and the store never feeds back into the layout.
// `window.studio` holds what the page last read, for the curious and for tests.
"use strict";

(() => {
  const COLOURS = {
    bg: "#0d121c",
    grid: "rgba(255,255,255,0.07)",
    label: "#7d8799",
    train: "#3dd6f5",
    val: "#ff8a3d",
    model: "#ff8a3d",
    controls: ["#3dd6f5", "#5ee38b", "#b58cff", "#ffd24a", "#ff6fb5", "#7f9bff"],
  };
  const STATUS_EVERY_MS = 1000;
  const LIST_EVERY_MS = 2000;
  const JOB_EVERY_MS = 500;
  const CHECKLIST_EVERY_MS = 5000;
  const ARMED_MS = 4000; // a delete button waits this long for its second click
  const PLAY_EVENTS = 100; // the checklist's "play": this many of your events in one take
  const TABS = ["perform", "takes", "datasets", "train", "models", "config"];

  const studio = {
    online: false,
    status: null,
    takes: [],
    datasets: [],
    models: [],
    playing: null,
    jobs: [],
    job: null, // the job shown on Train
    compare: null,
    config: null, // the text last read or saved
    configReply: null,
    checklist: { done: {}, dismissed: false },
    plots: {}, // take name -> its plot
    painted: 0, // canvas paints, all together
    errors: [],
  };
  window.studio = studio;

  const $ = (id) => document.getElementById(id);

  // -- the API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body, type = "application/json") {
    // One request; JSON (or text) back, or an ApiError carrying the server's one line.
    const init = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = type;
      init.body = type === "application/json" ? JSON.stringify(body) : body;
    }
    const response = await fetch(path, init);
    const json = (response.headers.get("Content-Type") || "").includes("json");
    const data = json ? await response.json() : await response.text();
    if (!response.ok) {
      const line = data && data.error ? data.error : `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, line);
    }
    return data;
  }

  const path = (...parts) => parts.map(encodeURIComponent).join("/");

  function showError(line, error) {
    line.textContent = error ? String(error.message || error) : "";
    if (error) studio.errors.push(line.textContent);
  }

  async function act(errorLine, action) {
    // Run one action; its error (if any) goes to its own line, which is cleared first.
    const line = typeof errorLine === "string" ? $(errorLine) : errorLine;
    line.textContent = "";
    try {
      return await action();
    } catch (error) {
      showError(line, error);
      return undefined;
    }
  }

  function every(ms, task, now = true) {
    // Run task (now, or first in ms) and again ms after each run ends (never two at once).
    const run = async () => {
      try {
        await task();
      } finally {
        setTimeout(run, ms);
      }
    };
    if (now) run();
    else setTimeout(run, ms);
  }

  // -- small helpers for the lists -------------------------------------------------------------

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  function renderList(box, items, build, update, emptyText) {
    // Keyed by name: an item keeps its element (and any field being typed in) while it lasts.
    const old = new Map([...box.children].filter((c) => c.dataset.name).map((c) => [c.dataset.name, c]));
    const nodes = items.map((item) => {
      const node = old.get(item.name) || build(item);
      node.dataset.name = item.name;
      update(node, item);
      return node;
    });
    const wanted = nodes.length ? nodes : [el("div", { class: "empty" }, emptyText)];
    const same = nodes.length === box.children.length && nodes.every((node, i) => box.children[i] === node);
    if (!same) box.replaceChildren(...wanted); // moving an element would lose a field's focus
  }

  function fillSelect(select, names, empty) {
    // Options for names; the chosen one stays chosen while it exists.
    const chosen = select.value;
    const options = names.length ? names.map((n) => new Option(n, n)) : [new Option(empty, "")];
    const same = select.options.length === options.length &&
      [...select.options].every((o, i) => o.value === options[i].value);
    if (!same) select.replaceChildren(...options);
    if (names.includes(chosen)) select.value = chosen;
    return !same;
  }

  function armed(button, action) {
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

  const kB = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);
  const secs = (s) => (s === null || s === undefined ? "–" : s < 90 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
  const nats = (x) => (x === null || x === undefined ? "–" : x.toFixed(3));

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  }

  function facts(...parts) {
    // "a · b · c" with the numbers bold; parts that are null are left out.
    const span = el("div", { class: "facts" });
    parts.filter((p) => p !== null && p !== undefined && p !== "").forEach((part, i) => {
      if (i) span.append(" · ");
      if (Array.isArray(part)) span.append(el("b", {}, String(part[0])), ` ${part[1]}`);
      else span.append(part);
    });
    return span;
  }

  // -- canvases --------------------------------------------------------------------------------

  const boxes = new WeakMap(); // canvas -> its CSS box {w, h}, kept by the observer
  const painters = new Map(); // canvas -> (ctx, w, h) => void
  const sizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const box = entry.contentBoxSize && entry.contentBoxSize[0];
      const w = box ? box.inlineSize : entry.contentRect.width;
      const h = box ? box.blockSize : entry.contentRect.height;
      boxes.set(entry.target, { w, h });
      paint(entry.target);
    }
  });

  function setPainter(canvas, painter) {
    if (!painters.has(canvas)) sizer.observe(canvas);
    painters.set(canvas, painter);
    paint(canvas);
  }

  function paint(canvas) {
    const painter = painters.get(canvas);
    if (!painter) return;
    if (!canvas.isConnected) {
      painters.delete(canvas);
      sizer.unobserve(canvas);
      return;
    }
    const box = boxes.get(canvas) || { w: canvas.clientWidth, h: canvas.clientHeight };
    if (box.w < 1 || box.h < 1) return; // hidden: painted when its tab shows it
    const { ctx, w, h } = fit(canvas, box);
    painter(ctx, w, h);
    studio.painted += 1;
  }

  function fit(canvas, { w, h }) {
    // The backing store is the CSS box × DPR; drawing is in CSS pixels on the background.
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(w * dpr));
    const height = Math.max(1, Math.round(h * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(width / w, 0, 0, height / h, 0, 0);
    ctx.fillStyle = COLOURS.bg;
    ctx.fillRect(0, 0, w, h);
    return { ctx, w, h };
  }

  // a DPR change (the window moved to another screen, a zoom) repaints every canvas
  window.addEventListener("resize", () => painters.forEach((_, canvas) => paint(canvas)));

  function label(ctx, text, x, y, colour = COLOURS.label, align = "left") {
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = align;
    ctx.fillStyle = colour;
    ctx.fillText(text, x, y);
    ctx.textAlign = "left";
  }

  function drawTakePlot(plot) {
    // Each control's values over the take, one colour each; the model's events in its colour.
    return (ctx, w, h) => {
      const t = plot.t || [];
      if (!t.length) {
        label(ctx, "no events yet", w / 2, h / 2 + 4, COLOURS.label, "center");
        return;
      }
      const t0 = t[0];
      const span = Math.max(t[t.length - 1] - t0, 1e-3);
      const X = (s) => 4 + ((s - t0) / span) * (w - 8);
      const Y = (v) => 4 + (1 - Math.min(Math.max(v, 0), 1)) * (h - 8);
      ctx.fillStyle = COLOURS.grid;
      for (const v of [0, 0.5, 1]) ctx.fillRect(0, Y(v), w, 1);
      (plot.values || []).forEach((series, c) => {
        for (let i = 0; i < series.length; i += 1) {
          const model = plot.model && plot.model[i];
          ctx.fillStyle = model ? COLOURS.model : COLOURS.controls[c % COLOURS.controls.length];
          ctx.fillRect(X(t[i]) - 1, Y(series[i]) - 1, 2.2, 2.2);
        }
      });
      label(ctx, secs(span), w - 6, h - 6, COLOURS.label, "right");
    };
  }

  function drawLoss(job) {
    // Train and validation NLL per epoch; the best epoch ringed; x runs to the planned epochs.
    return (ctx, w, h) => {
      const history = job.history || [];
      const pad = { l: 46, r: 10, t: 10, b: 22 };
      const epochs = Math.max(job.epochs || 1, history.length ? history[history.length - 1].epoch : 1);
      const values = history.flatMap((e) => [e.train, e.val]).filter(Number.isFinite);
      if (!values.length) {
        label(ctx, job.state === "running" ? "waiting for the first epoch…" : "no epochs", w / 2, h / 2, COLOURS.label, "center");
        return;
      }
      let lo = Math.min(...values);
      let hi = Math.max(...values);
      if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
      const margin = (hi - lo) * 0.08;
      [lo, hi] = [lo - margin, hi + margin];
      const X = (epoch) => pad.l + (epoch / epochs) * (w - pad.l - pad.r);
      const Y = (v) => pad.t + ((hi - v) / (hi - lo)) * (h - pad.t - pad.b);
      drawLossGrid(ctx, w, h, pad, lo, hi, epochs, X, Y);
      drawCurve(ctx, history, "train", COLOURS.train, X, Y);
      drawCurve(ctx, history, "val", COLOURS.val, X, Y);
      if (job.best && Number.isFinite(job.best.val)) {
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.arc(X(job.best.epoch), Y(job.best.val), 5, 0, 2 * Math.PI);
        ctx.stroke();
      }
    };
  }

  function drawLossGrid(ctx, w, h, pad, lo, hi, epochs, X, Y) {
    for (let i = 0; i <= 4; i += 1) {
      const v = lo + ((hi - lo) * i) / 4;
      ctx.fillStyle = COLOURS.grid;
      ctx.fillRect(pad.l, Y(v), w - pad.l - pad.r, 1);
      label(ctx, v.toFixed(2), pad.l - 6, Y(v) + 4, COLOURS.label, "right");
    }
    const step = Math.max(1, Math.ceil(epochs / 8));
    for (let e = 0; e <= epochs; e += step) label(ctx, String(e), X(e), h - 6, COLOURS.label, "center");
  }

  function drawCurve(ctx, history, key, colour, X, Y) {
    const points = history.filter((e) => Number.isFinite(e[key]));
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((e, i) => (i ? ctx.lineTo(X(e.epoch), Y(e[key])) : ctx.moveTo(X(e.epoch), Y(e[key]))));
    ctx.stroke();
    for (const e of points) ctx.fillRect(X(e.epoch) - 2, Y(e[key]) - 2, 4, 4);
  }

  // -- tabs ------------------------------------------------------------------------------------

  let tab = null;

  function showTab(name) {
    tab = TABS.includes(name) ? name : "perform";
    for (const section of TABS) $(section).hidden = section !== tab;
    for (const link of $("tabs").children) link.classList.toggle("active", link.dataset.tab === tab);
    if (tab === "perform" && !$("dashboard").src) $("dashboard").src = $("dashboard").dataset.src;
    if (tab === "perform") fitDashboard(true);
    if (tab === "config" && !configDirty) loadConfig();
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

  // -- the dashboard's frame: as tall as what it shows, so that only this page scrolls ---------

  const FRAME_MIN = 520; // px: the frame's least height, a short window or not
  const FRAME_EVERY_MS = 500;

  function scrolls(node) {
    const overflow = getComputedStyle(node).overflowY;
    return node === node.ownerDocument.documentElement || overflow === "auto" || overflow === "scroll";
  }

  function fitDashboard(reset = false) {
    // Fill the window below the tabs, then grow by whatever scrolls inside the frame (the whole
    // dashboard on a phone, its side panel on a laptop) until nothing there does.
    const frame = $("dashboard");
    const doc = frame.contentDocument;
    if (tab !== "perform" || !doc || !doc.body) return;
    const edge = frame.offsetHeight - frame.clientHeight;
    if (reset) {
      const top = frame.getBoundingClientRect().top + scrollY;
      const bottom = parseFloat(getComputedStyle($("perform").parentElement).paddingBottom) || 0;
      frame.style.height = `${Math.max(FRAME_MIN, Math.floor(innerHeight - top - bottom))}px`;
    }
    const scrollers = [doc.documentElement, ...doc.body.querySelectorAll("*")].filter(scrolls);
    const over = Math.max(0, ...scrollers.map((node) => node.scrollHeight - node.clientHeight));
    if (over > 1) frame.style.height = `${frame.clientHeight + edge + over}px`;
  }

  // -- status: the header and the checklist ----------------------------------------------------

  const num = (v) => (typeof v === "number" ? v : 0);

  function statusField(s, key) {
    // A figure of the status, at its top level or under "counts".
    if (!s) return undefined;
    if (s[key] !== undefined) return s[key];
    return s.counts ? s.counts[key] : undefined;
  }

  function playingName(s) {
    const playing = s && (s.playing ?? s.model);
    return playing && typeof playing === "object" ? playing.name : playing || null;
  }

  function currentTakeName(s) {
    const take = s && (s.current_take ?? s.take);
    return take && typeof take === "object" ? take.name : take || null;
  }

  async function refreshStatus() {
    try {
      studio.status = await api("GET", "/api/status");
      setOnline(true);
    } catch (error) {
      setOnline(false);
      return;
    }
    showStatus(studio.status);
    tickChecklist();
  }

  function showCanTrain(can) {
    // Where torch is missing (a Pi set up to perform only) training is refused: say so up front.
    $("train-start").disabled = !can;
    $("train-note").textContent = can ? "" : "this machine cannot train (no torch): train on a laptop and upload the model under Models";
  }

  function setOnline(on) {
    studio.online = on;
    $("conn").textContent = on ? "live" : "offline";
    $("conn").className = `pill ${on ? "on" : "off"}`;
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

  // The checklist: each step is done once its test has passed (remembered per project).
  const STEPS = [
    { id: "connect", title: "connect", hint: "send /interface over OSC, MIDI or serial, or play the pad under Perform",
      test: () => num(statusField(studio.status, "inputs")) > 0 },
    { id: "play", title: "play", hint: `${PLAY_EVENTS} of your events in one take`,
      test: () => studio.takes.some((t) => t.events >= PLAY_EVENTS) },
    { id: "take", title: "take", hint: "New take under Takes closes the one you played",
      test: () => studio.takes.some((t) => !t.current && t.events > 0) },
    { id: "dataset", title: "dataset", hint: "tick takes under Datasets and build one",
      test: () => studio.datasets.length > 0 },
    { id: "train", title: "train", hint: "train a model on it under Train (or upload one under Models)",
      test: () => studio.models.length > 0 },
    { id: "perform", title: "perform", hint: "Perform a model under Models: its answers come back",
      test: () => Boolean(playingName(studio.status)) && num(statusField(studio.status, "answers")) > 0 },
  ];

  function checklistKey() {
    const s = studio.status || {};
    return `foretell.studio.checklist:${s.id || s.project || ""}`;
  }

  function loadChecklist() {
    try {
      const stored = JSON.parse(localStorage.getItem(checklistKey()) || "null");
      studio.checklist = { done: {}, dismissed: false, ...(stored || {}) };
    } catch (error) {
      studio.checklist = { done: {}, dismissed: false };
    }
  }

  function saveChecklist() {
    localStorage.setItem(checklistKey(), JSON.stringify(studio.checklist));
  }

  let checklistLoaded = false;

  function tickChecklist() {
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
    $("steps").replaceChildren(...STEPS.map((step) => el("li",
      { class: done[step.id] ? "done" : "", "data-step": step.id },
      el("b", {}, step.title), el("span", { class: "small" }, step.hint))));
  }

  function setDismissed(dismissed) {
    studio.checklist.dismissed = dismissed;
    saveChecklist();
    showChecklist();
  }

  function checklistOpen() {
    return checklistLoaded && !studio.checklist.dismissed &&
      STEPS.some((step) => !studio.checklist.done[step.id]);
  }

  // -- takes -----------------------------------------------------------------------------------

  async function refreshTakes() {
    const listing = await act("takes-error", () => api("GET", "/api/takes"));
    if (!listing) return;
    studio.takes = listing.takes;
    renderList($("take-list"), studio.takes, buildTake, updateTake, "no takes yet: play, and they appear here");
    showDatasetTakes();
    fillSelect($("compare-take"), studio.takes.map((t) => t.name), "no takes");
  }

  function buildTake(take) {
    const name = () => node.dataset.name;
    const error = el("div", { class: "error", role: "alert" });
    const input = el("input", { "aria-label": "the take's new name", autocomplete: "off" });
    const rename = el("form", { class: "rename", hidden: true },
      input, el("button", { type: "submit" }, "OK"),
      el("button", { type: "button", onclick: () => (rename.hidden = true) }, "cancel"));
    rename.addEventListener("submit", (event) => {
      event.preventDefault();
      act(error, async () => {
        await api("POST", `/api/takes/${path(name())}/rename`, { name: input.value.trim() });
        rename.hidden = true;
        await refreshTakes();
      });
    });
    const actions = el("div", { class: "actions" },
      el("button", { class: "rename-button", onclick: () => {
        rename.hidden = false;
        input.value = name();
        input.focus();
      } }, "rename"),
      el("a", { class: "button download" }, "download"),
      armed(el("button", { class: "delete danger" }, "delete"), () => act(error, async () => {
        await api("DELETE", `/api/takes/${path(name())}`);
        await refreshTakes();
      })));
    const canvas = el("canvas", { "aria-label": "the take's controls over time" });
    const node = el("div", { class: "card item take" },
      el("div", {}, el("div", { class: "item-head" }, el("span", { class: "item-name" }),
        el("span", { class: "badge rec" }, "recording")), el("div", { class: "facts" }), actions, rename, error),
      el("div", { class: "canvas-box plot-box" }, canvas));
    return node;
  }

  function updateTake(node, take) {
    node.classList.toggle("current", Boolean(take.current));
    node.querySelector(".item-name").textContent = take.name;
    node.querySelector(".badge.rec").hidden = !take.current;
    node.querySelector(".facts").replaceWith(facts(when(take.start), [take.events, "events"],
      [take.model_events, "model"], [secs(take.duration), ""], [Math.max(0, (take.dimension || 1) - 1), "controls"],
      kB(take.bytes || 0)));
    node.querySelector(".rename-button").disabled = Boolean(take.current);
    node.querySelector(".delete").disabled = Boolean(take.current);
    node.querySelector(".download").href = `/api/takes/${path(take.name)}/download`;
    node.querySelector(".download").download = take.file ? String(take.file).split("/").pop() : `${take.name}.log`;
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
    const labels = studio.takes.map((take) => el("label", {},
      el("input", { type: "checkbox", value: take.name, checked: ticked.has(take.name) }),
      `${take.name} `, el("span", { class: "muted small" }, `${take.events} events${take.current ? " · recording" : ""}`)));
    box.replaceChildren(...(labels.length ? labels : [el("span", { class: "muted" }, "no takes yet")]));
  }

  async function refreshDatasets() {
    const listing = await act("datasets-error", () => api("GET", "/api/datasets"));
    if (!listing) return;
    studio.datasets = listing.datasets;
    renderList($("dataset-list"), studio.datasets, buildDataset, updateDataset, "no datasets yet");
    fillSelect($("train-dataset"), studio.datasets.map((d) => d.name), "build a dataset first");
  }

  function buildDataset() {
    const error = el("div", { class: "error", role: "alert" });
    const node = el("div", { class: "card item dataset" },
      el("div", {}, el("div", { class: "item-head" }, el("span", { class: "item-name" })),
        el("div", { class: "facts" }),
        el("div", { class: "actions" }, armed(el("button", { class: "delete danger" }, "delete"), () => act(error, async () => {
          await api("DELETE", `/api/datasets/${path(node.dataset.name)}`);
          await refreshDatasets();
        }))), error));
    return node;
  }

  function updateDataset(node, d) {
    node.querySelector(".item-name").textContent = d.name;
    node.querySelector(".facts").replaceWith(facts([d.events, "events"], [d.performances, "performances"],
      [Math.max(0, (d.dimension || 1) - 1), "controls"], kB(d.bytes || 0),
      (d.takes || []).length ? `from ${d.takes.join(", ")}` : null));
  }

  async function buildDatasetFromForm(event) {
    event.preventDefault();
    const takes = [...$("dataset-takes").querySelectorAll("input:checked")].map((i) => i.value);
    const name = $("dataset-name").value.trim();
    $("dataset-note").textContent = "";
    const reply = await act("dataset-error", () => api("POST", "/api/datasets", { name, takes }));
    if (!reply) return;
    const d = reply.dataset;
    const skipped = reply.skipped && reply.skipped.length ? ` (skipped: ${reply.skipped.join(", ")})` : "";
    $("dataset-note").textContent = `built ${d.name}: ${d.events} events, ${d.performances} performances${skipped}`;
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
    const body = { dataset: $("train-dataset").value, size: $("train-size").value, name: $("train-name").value.trim() };
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
    $("job-time").textContent = `${secs(job.elapsed_s)} · ${job.state === "running" ? secs(job.eta_s) : "–"}`;
    $("job-cancel").hidden = job.state !== "running";
    const ending = `${job.id}:${job.state}:${job.model}:${job.ending}`;
    if ($("job-ending").dataset.shown !== ending) { // kept while it says the same: a chosen mode stays
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
      parts.push(" · new model ", el("b", { class: "new-model" }, job.model), " ",
        el("button", { class: "primary perform", onclick: () => perform(job.model, "job-error", mode.value) }, "Perform it"), " ", mode);
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
    renderList($("model-list"), studio.models, buildModel, updateModel, "no models yet: train one, or upload one");
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
    const node = el("div", { class: "card item model" },
      el("div", {}, el("div", { class: "item-head" }, el("span", { class: "item-name" }),
        el("span", { class: "badge playing" }, "playing")), el("div", { class: "facts" }),
      el("div", { class: "actions" },
        el("button", { class: "perform primary", onclick: () => perform(name(), error, mode.value) }, "Perform"),
        mode,
        el("a", { class: "button download" }, "download"),
        armed(el("button", { class: "delete danger" }, "delete"), () => act(error, async () => {
          await api("DELETE", `/api/models/${path(name())}`);
          await refreshModels();
        }))), error));
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
    return facts(m.size ? [m.size, "size"] : null, kind, lstm, m.mixtures ? [m.mixtures, "mixtures"] : null,
      [Math.max(0, (m.dimension || 1) - 1), "controls"], trainedOn(m.data), heldOut(m), kB(m.bytes || 0), when(m.created));
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
    return el("span", { class: "nll" }, `held-out NLL on ${m.newest_take}: `,
      done ? el("b", {}, nats(m.nll_newest_take)) : "computing…", done ? " nats/event" : "");
  }

  function modelsComputing() {
    return studio.models.some((m) => m.newest_take && (m.nll_newest_take === null || m.nll_newest_take === undefined));
  }

  // The modes Perform offers (those in which the model plays), beside each Perform button.
  const PERFORM_MODES = [["callresponse", "call and response"], ["filter", "filter"], ["battle", "battle"]];

  function modeSelect(changed) {
    // A mode chooser; it follows the project's playing mode until the user picks one.
    const select = el("select", { class: "perform-mode", title: "the mode Perform plays in", "aria-label": "mode",
      onchange: () => { select.dataset.chosen = "1"; changed(); } },
      ...PERFORM_MODES.map(([value, label]) => new Option(label, value)));
    showMode(select, false);
    return select;
  }

  function showMode(select, playing) {
    // The playing model's select shows the live mode; the others the default, unless chosen.
    const s = studio.status || {};
    const wanted = playing ? s.mode : select.dataset.chosen ? null : s.perform_mode;
    if (wanted && PERFORM_MODES.some(([value]) => value === wanted) && select !== document.activeElement) select.value = wanted;
    if (playing) delete select.dataset.chosen;
  }

  async function perform(name, errorLine, mode) {
    const body = mode ? { model: name, mode } : { model: name };
    const reply = await act(errorLine, () => api("POST", "/api/perform", body));
    if (!reply) return;
    if (reply.not_saved) showError(typeof errorLine === "string" ? $(errorLine) : errorLine, `playing, but not remembered: ${reply.not_saved}`);
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
      api("POST", `/api/models/upload?name=${encodeURIComponent(file.name)}`, file, "application/octet-stream"));
    if (!reply) return;
    $("upload-file").value = "";
    await refreshModels();
  }

  async function compare(event) {
    event.preventDefault();
    const query = new URLSearchParams({ a: $("compare-a").value, b: $("compare-b").value, take: $("compare-take").value });
    $("compare-result").hidden = true;
    const reply = await act("compare-error", () => api("GET", `/api/compare?${query}`));
    if (!reply) return;
    studio.compare = reply;
    showCompare(reply);
  }

  function showCompare(reply) {
    const { a, b } = reply;
    const better = a.nll < b.nll ? "a" : b.nll < a.nll ? "b" : null;
    const side = (key, r) => el("div", { class: `side ${better === key ? "better" : ""}`, "data-side": key },
      el("div", { class: "muted small" }, key.toUpperCase()), el("div", { class: "item-name" }, r.model),
      el("div", { class: "nll" }, nats(r.nll)), el("div", { class: "muted small" }, "nats/event"));
    const summary = better
      ? `on ${reply.take} (${reply.events} events) ${reply[better].model} is better by ${Math.abs(a.nll - b.nll).toFixed(3)} nats/event`
      : `on ${reply.take} (${reply.events} events) both score the same`;
    $("compare-result").replaceChildren(side("a", a), side("b", b), el("div", { class: "summary" }, summary));
    $("compare-result").hidden = false;
  }

  // -- config ----------------------------------------------------------------------------------

  let configDirty = false;

  async function loadConfig() {
    const text = await act("config-error", () => api("GET", "/api/config"));
    if (typeof text !== "string") return;
    studio.config = text;
    $("config-text").value = text;
    configDirty = false;
    $("config-note").textContent = "";
  }

  async function saveConfig() {
    const text = $("config-text").value;
    $("config-note").textContent = "";
    $("config-note").className = "note";
    const reply = await act("config-error", async () => {
      try {
        return await api("PUT", "/api/config", text, "application/toml");
      } catch (error) {
        if (error.status === 400) throw new Error(`refused: ${error.message} (nothing was written)`);
        throw error;
      }
    });
    if (!reply) return;
    studio.config = text;
    studio.configReply = reply;
    configDirty = false;
    showConfigReply(reply);
  }

  function showConfigReply(reply) {
    const list = (items) => (items && items.length ? items.join(", ") : "nothing");
    const note = $("config-note");
    note.className = "note ok";
    const parts = ["saved · applied live: ", el("b", { class: "applied" }, list(reply.applied))];
    if (reply.refused && reply.refused.length) {
      parts.push(" · refused by the running engine: ",
        el("b", { class: "refused" }, reply.refused.join("; ")));
    }
    parts.push(" · on the next start: ", el("b", { class: "on-restart" }, list(reply.on_restart)));
    note.replaceChildren(...parts);
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
    $("config-text").addEventListener("input", () => (configDirty = true));
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
})();
