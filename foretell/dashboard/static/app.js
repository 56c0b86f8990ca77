// foretell dashboard: draws the performance, steers the engine, and is a small instrument itself.
//
// One WebSocket (/ws) carries everything. In: {"interface": [..], "t", "dt"} (your events),
// {"prediction": [..], "t", "dt"} (the model's), {"state": {..}}, {"expect": {..}}, {"hello": {..}},
// {"error": ".."}; several may come as one JSON array. Out: {"interface": [..]} from the pad and
// {"command": VERB, "args": [..]} from the controls (the engine's live-control verbs, and
// "panic"). A user event's "from" names its source (pad, osc, midi, serial, websocket): its colour.
// An ensemble adds "instrument": NAME to events in and out and to commands, {"ensemble": {..}}
// frames (one strip each, see strips.js) and {"select": NAME}: the instrument the page looks at
// (its focus: the pad plays it, the synth sounds it, the panel and XY view show and steer it).
// Canvases: each fills a .canvas-box; a ResizeObserver keeps its CSS size, and every frame the
// backing store is set to that size × devicePixelRatio (so a DPR change, e.g. a window moved to
// another screen, is followed at once); the store never feeds back into the layout.
// `window.foretell` holds the page's state, for the curious and for tests.
"use strict";

(() => {
  const COLOURS = {
    user: "#3dd6f5",
    pad: "#3dd6f5",
    osc: "#5ee38b",
    midi: "#ffd24a",
    serial: "#ff6fb5",
    websocket: "#7f9bff",
    other: "#c3cad6",
    model: "#ff8a3d",
    expect: "181,140,255",
    grid: "rgba(255,255,255,0.06)",
    label: "#7d8799",
    now: "rgba(255,255,255,0.45)",
    bg: "#0d121c",
    steer: "rgba(255,210,74,0.16)",
    held: "#ffd24a",
  };
  const PAST = 8; // seconds of history on the timeline
  const FUTURE = 2; // seconds of what comes next
  const LANE_GUTTER = 24; // px left of the lanes for their names (c1 ... c16)
  const KEEP = 12; // seconds of events kept
  const MAX_EVENTS = 6000;
  const TRAIL = 4; // seconds of trail in the XY view and on the pad
  const SEND_EVERY_MS = 16; // the pad sends at most ~60 events per second
  const ORIGINS = ["pad", "osc", "midi", "serial", "websocket", "other"]; // user events' sources
  const MARK_KEYS = [["mode", "mode"], ["paused", "paused"], ["pi_temp", "π"], ["sigma_temp", "σ"],
    ["threshold", "threshold"], ["timescale", "timescale"], ["thru", "thru"]];

  const page = {
    connected: false,
    hello: null,
    state: null,
    expect: null,
    events: [], // the focus's events (its track's)
    counts: { user: 0, model: 0 }, // the focus's
    instruments: [],
    focus: null,
    tracks: {}, // instrument name -> { events, counts }
    ensemble: null, // the latest ensemble frame
    compact: false, // an ensemble's strips as dense rows (strips.js)
    sent: 0,
    frames: 0,
    offset: null,
    errors: [],
    marks: [], // {t, text}: where the focus's model was swapped or a setting changed
    wakeLock: "off", // "on" while the screen is kept awake, else why not
    presets: {},
  };
  window.foretell = page;

  const $ = (id) => document.getElementById(id);

  // -- time: the engine's clock, estimated from the state frames -----------------------------

  function engineNow() {
    return page.offset === null ? 0 : performance.now() / 1000 + page.offset;
  }

  function syncClock(t) {
    // t - local arrival time is at most the true offset (the frame took some time to come).
    const sample = t - performance.now() / 1000;
    if (page.offset === null || sample > page.offset || page.offset - sample > 0.5) {
      page.offset = sample;
    }
  }

  function controlCount() {
    const d = page.state && page.state.dimension;
    return d ? d - 1 : 3;
  }

  // -- the connection --------------------------------------------------------------------------

  let socket = null;

  function forgetTokenInAddress() {
    // The first visit's ?token= is kept as a cookie by the server; keep it out of the address bar.
    const url = new URL(location.href);
    if (url.searchParams.has("token")) {
      url.searchParams.delete("token");
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => setConnected(true);
    socket.onclose = () => {
      setConnected(false);
      setTimeout(connect, 1000);
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      for (const item of Array.isArray(data) ? data : [data]) receive(item);
    };
  }

  function setConnected(on) {
    page.connected = on;
    keepAwake(on);
    const pill = $("conn");
    pill.textContent = on ? "live" : "offline";
    pill.className = `pill ${on ? "on" : "off"}`;
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      page.sent += 1;
    }
  }

  function isEnsemble() {
    return page.instruments.length > 1;
  }

  function target(name = page.focus) {
    // Names the instrument a message is for, in an ensemble (a single instrument needs none).
    return isEnsemble() ? { instrument: name } : {};
  }

  function command(verb, ...args) {
    send({ command: verb, args, ...target() });
  }

  function commandTo(name, verb, ...args) {
    send({ command: verb, args, ...target(name) });
  }

  function receive(message) {
    if ("interface" in message) addEvent(ORIGINS.includes(message.from) ? message.from : "other", message.interface, message);
    else if ("prediction" in message) addEvent("model", message.prediction, message);
    else if ("state" in message) onState(message.state);
    else if ("expect" in message) onExpect(message.expect);
    else if ("ensemble" in message) onEnsemble(message.ensemble);
    else if ("hello" in message) onHello(message.hello);
    else if ("error" in message) toast(message.error);
  }

  function onExpect(expect) {
    if (expect === null || expect.instrument === page.focus) page.expect = expect;
  }

  function trackOf(name) {
    if (!(name in page.tracks)) page.tracks[name] = { events: [], counts: { user: 0, model: 0 } };
    return page.tracks[name];
  }

  function addEvent(origin, values, message) {
    // origin: "model", or the user event's source (pad, osc, ...); source: "user" or "model"
    const source = origin === "model" ? "model" : "user";
    const name = message.instrument ?? page.focus;
    const track = trackOf(name);
    const events = track.events;
    events.push({ source, origin, v: values, t: message.t, dt: message.dt });
    track.counts[source] += 1;
    if (name === page.focus) synth.play(source, values);
    if (events.length > MAX_EVENTS || events[0].t < message.t - KEEP) {
      let drop = 0;
      while (drop < events.length && (events.length - drop > MAX_EVENTS || events[drop].t < message.t - KEEP)) drop += 1;
      events.splice(0, drop);
    }
  }

  function onHello(hello) {
    page.hello = hello;
    loadPresets(hello.presets || {});
    page.instruments = hello.instruments || [hello.instrument];
    for (const name of page.instruments) trackOf(name);
    const ensemble = isEnsemble();
    document.body.classList.toggle("ensemble", ensemble);
    buildModeButtons(hello.modes);
    if (ensemble) {
      strips = window.foretellStrips.build($("strips"), page.instruments, hello.modes, stripUI);
      if (compactChosen !== null) strips.setCompact(compactChosen); // the user's choice stands
      showLayout();
      buildFocusChoice(page.instruments);
    }
    const previous = page.focus;
    showFocus(hello.instrument);
    if (previous !== null && previous !== hello.instrument && page.instruments.includes(previous)) {
      setFocus(previous); // reconnected: look at the same instrument as before
    }
    refreshModels();
  }

  // -- the focus: the instrument the pad plays, the synth sounds and the panel steers ----------

  let strips = null; // the ensemble's strips (strips.js), once a hello names several instruments
  let compactChosen = null; // the layout picked with the toggle; null: by the ensemble's size

  function showLayout() {
    page.compact = strips.compact;
    document.body.classList.toggle("compact", page.compact);
    const button = $("compact");
    button.textContent = page.compact ? "compact" : "full";
    button.classList.toggle("on", page.compact);
    button.title = page.compact ? "compact rows: click for full strips" : "full strips: click for compact rows";
  }

  function toggleLayout() {
    if (!strips) return;
    compactChosen = !strips.compact;
    strips.setCompact(compactChosen);
    showLayout();
  }

  function showFocus(name) {
    const track = trackOf(name);
    page.focus = name;
    page.events = track.events;
    page.counts = track.counts;
    stateCount = 0; // show the new focus's state as soon as it comes
    page.marks = []; // the marks were the previous focus's
    $("focus").value = name;
    $("focus-name").textContent = isEnsemble() ? name : "";
    if (strips) strips.setFocus(name);
  }

  function setFocus(name) {
    if (name === page.focus || !page.instruments.includes(name)) return;
    showFocus(name);
    page.expect = null;
    send({ select: name });
    refreshModels();
  }

  function buildFocusChoice(names) {
    const select = $("focus");
    select.replaceChildren(...names.map((name) => new Option(name, name)));
    select.onchange = () => setFocus(select.value);
  }

  function onEnsemble(ensemble) {
    page.ensemble = ensemble;
    syncClock(ensemble.now);
    if (strips) strips.update(ensemble.instruments);
  }

  // -- drawing ---------------------------------------------------------------------------------

  const boxes = new WeakMap(); // canvas -> its CSS box {w, h}, kept by the observer
  const sizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const box = entry.contentBoxSize && entry.contentBoxSize[0];
      const w = box ? box.inlineSize : entry.contentRect.width;
      const h = box ? box.blockSize : entry.contentRect.height;
      boxes.set(entry.target, { w, h });
    }
  });

  function cssBox(canvas) {
    let box = boxes.get(canvas);
    if (!box) { // first sight: observe from now on; measure once
      sizer.observe(canvas);
      box = { w: canvas.clientWidth, h: canvas.clientHeight };
      boxes.set(canvas, box);
    }
    return box;
  }

  function fit(canvas) {
    // The backing store is the CSS box × DPR, read afresh each frame; drawing is in CSS pixels.
    const { w, h } = cssBox(canvas);
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(w * dpr));
    const height = Math.max(1, Math.round(h * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(width / Math.max(w, 1e-3), 0, 0, height / Math.max(h, 1e-3), 0, 0);
    ctx.fillStyle = COLOURS.bg;
    ctx.fillRect(0, 0, w, h);
    return { ctx, w, h };
  }

  function expectBase() {
    // When the expected event falls due: from the event it was predicted from, dt later.
    const e = page.expect;
    if (!e) return null;
    const scale = e.model_plays ? e.timescale : 1;
    return { e, scale, due: e.t0 + e.dt * scale };
  }

  function label(ctx, text, x, y, colour = COLOURS.label, backdrop = false) {
    ctx.font = "11px system-ui, sans-serif";
    if (backdrop) { // over the events: readable in compact lanes and among the rhythm's bars
      ctx.fillStyle = "rgba(13,18,28,0.75)";
      ctx.fillRect(x - 3, y - 10, ctx.measureText(text).width + 6, 13);
    }
    ctx.fillStyle = colour;
    ctx.fillText(text, x, y);
  }

  function drawTimeline() {
    if (!isEnsemble()) drawLanes($("timeline"), page.events, controlCount(), expectBase(), 6, true);
  }

  function drawMarks(ctx, X, h, start) {
    // A dotted line where the model was swapped or a setting changed, with what changed.
    ctx.font = "10px system-ui, sans-serif";
    for (const mark of page.marks) {
      if (mark.t < start) continue;
      const x = X(mark.t);
      ctx.strokeStyle = "rgba(255,210,74,0.7)";
      ctx.setLineDash([2, 3]);
      ctx.beginPath();
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
      ctx.stroke();
      ctx.setLineDash([]);
      label(ctx, mark.text, x + 3, 10, "#ffd24a", true);
    }
  }

  function drawLanes(canvas, events, n, next, gap = 6, marks = false) {
    // One lane per control: the past PAST seconds of events, what comes next FUTURE seconds on.
    // The lanes' names (c1, c2, ...) sit in a gutter of their own, never over the events.
    const { ctx, w, h } = fit(canvas);
    const now = engineNow();
    const start = now - PAST;
    const gutter = LANE_GUTTER;
    const X = (t) => gutter + ((t - start) / (PAST + FUTURE)) * (w - gutter);
    const laneH = (h - gap * (n + 1)) / n;
    const xNow = X(now);
    ctx.save();
    ctx.beginPath();
    ctx.rect(gutter, 0, w - gutter, h);
    ctx.clip(); // what was played just before the window does not spill into the gutter
    ctx.fillStyle = `rgba(${COLOURS.expect},0.05)`;
    ctx.fillRect(xNow, 0, w - xNow, h);
    for (let i = 0; i < n; i += 1) {
      const top = gap + i * (laneH + gap);
      const Y = (v) => top + (1 - v) * laneH;
      drawLaneGrid(ctx, w, top, laneH);
      if (marks) drawConstraint(ctx, w, i, Y); // the focus's timeline
      if (next) drawExpectedLane(ctx, next, i, X, Y, xNow);
      // the model under the performer's: in filter mode an answer lands where its input was
      for (const origin of ["model", ...ORIGINS]) drawLaneEvents(ctx, events, origin, i, X, Y, start);
    }
    if (marks) drawMarks(ctx, X, h, start);
    for (let s = Math.ceil(start); s < now + FUTURE; s += 1) {
      ctx.fillStyle = COLOURS.grid;
      ctx.fillRect(X(s), 0, 1, h);
    }
    ctx.fillStyle = COLOURS.now;
    ctx.fillRect(xNow, 0, 1.5, h);
    label(ctx, "now", xNow + 4, h - 4, COLOURS.now);
    if (next) drawCountdownMark(ctx, next, X, h, now);
    ctx.restore();
    const labelY = (i) => gap + i * (laneH + gap) + Math.min(12, laneH / 2 + 4);
    for (let i = 0; i < n; i += 1) label(ctx, `c${i + 1}`, 2, labelY(i), COLOURS.label);
  }

  function drawLaneGrid(ctx, w, top, laneH) {
    ctx.fillStyle = "rgba(255,255,255,0.025)";
    ctx.fillRect(0, top, w, laneH);
    ctx.fillStyle = COLOURS.grid;
    for (const v of [0, 0.5, 1]) ctx.fillRect(0, top + (1 - v) * laneH, w, 1);
  }

  function drawExpectedLane(ctx, next, i, X, Y, xNow) {
    for (const c of next.e.components) {
      const [mean, lo, hi] = c.x[i];
      const x0 = X(next.e.t0 + c.dt[1] * next.scale);
      const x1 = Math.max(X(next.e.t0 + c.dt[2] * next.scale), x0 + 3);
      const xm = X(next.e.t0 + c.dt[0] * next.scale);
      const overdue = x1 < xNow;
      const alpha = (overdue ? 0.1 : 0.2) + 0.55 * c.w;
      const grad = ctx.createLinearGradient(0, Y(hi), 0, Y(lo));
      grad.addColorStop(0, `rgba(${COLOURS.expect},0)`);
      grad.addColorStop(0.5, `rgba(${COLOURS.expect},${alpha})`);
      grad.addColorStop(1, `rgba(${COLOURS.expect},0)`);
      ctx.fillStyle = grad;
      ctx.fillRect(x0, Y(hi) - 2, x1 - x0, Y(lo) - Y(hi) + 4);
      ctx.fillStyle = `rgba(${COLOURS.expect},${Math.min(1, alpha + 0.3)})`;
      ctx.fillRect(xm - 5, Y(mean) - 1, 10, 2);
    }
  }

  function drawLaneEvents(ctx, events, origin, i, X, Y, start) {
    const colour = COLOURS[origin];
    const model = origin === "model";
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = model ? 1 : 1.5;
    ctx.globalAlpha = 0.55;
    ctx.beginPath();
    let first = true;
    for (const ev of events) {
      if (ev.origin !== origin || ev.t < start - 1 || ev.v.length <= i) continue;
      const x = X(ev.t);
      const y = Y(ev.v[i]);
      if (first) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
      first = false;
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    for (const ev of events) {
      if (ev.origin !== origin || ev.t < start - 1 || ev.v.length <= i) continue;
      if (model) ctx.fillRect(X(ev.t) - 2.5, Y(ev.v[i]) - 2.5, 5, 5); // a larger square under
      else ctx.fillRect(X(ev.t) - 1.5, Y(ev.v[i]) - 1.5, 3, 3);
    }
  }

  function drawCountdownMark(ctx, next, X, h, now) {
    const x = X(next.due);
    if (x < 0 || x > X(now + FUTURE)) return;
    ctx.strokeStyle = `rgba(${COLOURS.expect},0.9)`;
    ctx.setLineDash([3, 4]);
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, h);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  function updateCountdown() {
    const text = countdownText();
    for (const out of document.querySelectorAll(".countdown")) out.textContent = text;
  }

  function countdownText() {
    if (page.state && page.state.paused) return "paused";
    const next = expectBase();
    if (!next) return page.state && page.state.model ? "" : "no model";
    const left = next.due - engineNow();
    const who = next.e.model_plays ? "model plays" : "expects you";
    if (left >= 0) return `${who} in ${left.toFixed(2)}\u00a0s`; // a number keeps its unit
    if (next.e.model_plays) return "model plays now";
    return `expected you ${(-left).toFixed(1)}\u00a0s ago`;
  }

  const DT_LOW = -3; // log10 seconds: 1 ms ...
  const DT_HIGH = Math.log10(4); // ... 4 s

  function drawRhythm() {
    const { ctx, w, h } = fit($("rhythm"));
    const now = engineNow();
    const start = now - PAST;
    const gutter = 48; // the scale's labels, kept clear of the bars
    const X = (t) => gutter + ((t - start) / (PAST + FUTURE)) * (w - gutter);
    const Y = (dt) => {
      const v = (Math.log10(Math.max(dt, 1e-3)) - DT_LOW) / (DT_HIGH - DT_LOW);
      return h - 4 - Math.min(Math.max(v, 0), 1) * (h - 8);
    };
    const marks = [[0.01, "10 ms"], [0.1, "100 ms"], [1, "1 s"]];
    for (const [dt] of marks) {
      ctx.fillStyle = COLOURS.grid;
      ctx.fillRect(0, Y(dt), w, 1);
    }
    const next = expectBase();
    if (next) {
      for (const c of next.e.components) {
        const x = X(next.e.t0 + c.dt[0] * next.scale);
        ctx.fillStyle = `rgba(${COLOURS.expect},${0.25 + 0.6 * c.w})`;
        ctx.fillRect(x - 3, Y(c.dt[2]), 6, Math.max(Y(c.dt[1]) - Y(c.dt[2]), 2));
      }
    }
    for (const ev of page.events) {
      if (ev.t < start || ev.dt <= 0) continue;
      const y = Y(ev.dt);
      ctx.fillStyle = COLOURS[ev.origin] || COLOURS[ev.source];
      ctx.globalAlpha = 0.85;
      ctx.fillRect(X(ev.t) - 1, y, 2, h - 4 - y);
      ctx.fillRect(X(ev.t) - 2.5, y - 1, 5, 3);
    }
    ctx.globalAlpha = 1;
    for (const [dt, name] of marks) label(ctx, name, 4, Y(dt) + 4, COLOURS.label);
    ctx.fillStyle = COLOURS.now;
    ctx.fillRect(X(now), 0, 1.5, h);
  }

  function square(w, h, margin = 8) {
    const side = Math.max(10, Math.min(w, h) - 2 * margin);
    return { left: (w - side) / 2, top: (h - side) / 2, side };
  }

  function drawSquareGrid(ctx, sq) {
    ctx.strokeStyle = COLOURS.grid;
    ctx.lineWidth = 1;
    ctx.strokeRect(sq.left, sq.top, sq.side, sq.side);
    for (const f of [0.25, 0.5, 0.75]) {
      ctx.fillStyle = COLOURS.grid;
      ctx.fillRect(sq.left + f * sq.side, sq.top, 1, sq.side);
      ctx.fillRect(sq.left, sq.top + f * sq.side, sq.side, 1);
    }
  }

  function drawTrails(ctx, P, now, radius, origins = ["model", ...ORIGINS]) {
    for (const origin of origins) {
      let last = null;
      for (const ev of page.events) {
        if (ev.origin !== origin || ev.t < now - TRAIL || ev.v.length < 2) continue;
        const age = Math.min(Math.max((now - ev.t) / TRAIL, 0), 1);
        const [x, y] = P(ev.v[0], ev.v[1]);
        ctx.globalAlpha = 1 - age;
        ctx.strokeStyle = COLOURS[origin];
        ctx.fillStyle = COLOURS[origin];
        if (last) {
          ctx.globalAlpha = 0.5 * (1 - age);
          ctx.lineWidth = 1;
          ctx.beginPath();
          ctx.moveTo(last[0], last[1]);
          ctx.lineTo(x, y);
          ctx.stroke();
        }
        ctx.globalAlpha = 1 - age;
        const r = ev.v.length > 2 ? radius * (0.4 + ev.v[2]) : radius;
        ctx.beginPath();
        ctx.arc(x, y, r * (1 - 0.6 * age), 0, 2 * Math.PI);
        ctx.fill();
        last = [x, y];
      }
    }
    ctx.globalAlpha = 1;
  }

  function drawXY() {
    const { ctx, w, h } = fit($("xy"));
    const sq = square(w, h);
    drawSquareGrid(ctx, sq);
    if (controlCount() < 2) {
      label(ctx, "the XY view needs a model with 2 or more controls", sq.left + 10, sq.top + 20);
      return;
    }
    const P = (x, y) => [sq.left + x * sq.side, sq.top + (1 - y) * sq.side];
    const next = expectBase();
    if (next) {
      for (const c of next.e.components) {
        const [cx, cy] = P((c.x[0][1] + c.x[0][2]) / 2, (c.x[1][1] + c.x[1][2]) / 2);
        const rx = Math.max(((c.x[0][2] - c.x[0][1]) / 2) * sq.side, 4);
        const ry = Math.max(((c.x[1][2] - c.x[1][1]) / 2) * sq.side, 4);
        ctx.save();
        ctx.translate(cx, cy);
        ctx.scale(rx, ry);
        const grad = ctx.createRadialGradient(0, 0, 0, 0, 0, 1);
        grad.addColorStop(0, `rgba(${COLOURS.expect},${0.2 + 0.6 * c.w})`);
        grad.addColorStop(1, `rgba(${COLOURS.expect},0)`);
        ctx.fillStyle = grad;
        ctx.beginPath();
        ctx.arc(0, 0, 1, 0, 2 * Math.PI);
        ctx.fill();
        ctx.restore();
        const [mx, my] = P(c.x[0][0], c.x[1][0]);
        ctx.strokeStyle = `rgba(${COLOURS.expect},${0.4 + 0.6 * c.w})`;
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(mx - 5, my);
        ctx.lineTo(mx + 5, my);
        ctx.moveTo(mx, my - 5);
        ctx.lineTo(mx, my + 5);
        ctx.stroke();
      }
    }
    drawTrails(ctx, P, engineNow(), 4);
    label(ctx, "c1 →", sq.left + sq.side - 30, sq.top + sq.side - 6);
    label(ctx, "c2 ↑", sq.left + 6, sq.top + 14);
  }

  // -- the pad: an instrument for mouse, pen and touch ---------------------------------------
  //
  // One finger (or the mouse) plays controls 1 and 2; a second finger on the pad sets control 3
  // by its height (pressure), else the pressure slider or the hold time does. A pen's pressure
  // is used as it comes.

  const pad = {
    active: false,
    x: 0.5,
    y: 0.5,
    pressure: 0.6,
    downAt: 0,
    lastSent: 0,
    pending: false,
    pointerPressure: null,
    lead: null, // the pointer playing controls 1-2
    second: null, // a second finger: control 3
    secondValue: null,
    sentTotal: 0,
  };

  function padPressure() {
    if (pad.secondValue !== null) return pad.secondValue;
    if (pad.pointerPressure !== null) return pad.pointerPressure;
    if (!$("hold").checked) return Number($("pressure").value);
    const held = (performance.now() - pad.downAt) / 1000;
    return Math.min(1, 0.15 + (held / 1.2) * 0.85);
  }

  function padValues() {
    const values = [pad.x, pad.y, pad.pressure];
    const n = controlCount();
    while (values.length < n) values.push(0.5);
    return values.slice(0, n).map((v) => Math.round(v * 1e4) / 1e4);
  }

  function padSend() {
    pad.pressure = padPressure();
    $("pressure-value").textContent = pad.pressure.toFixed(2);
    if ($("hold").checked || pad.secondValue !== null) $("pressure").value = pad.pressure;
    send({ interface: padValues(), ...target() });
    pad.lastSent = performance.now();
    pad.pending = false;
    pad.sentTotal += 1;
  }

  function padCoordinates(event) {
    const canvas = $("pad");
    const rect = canvas.getBoundingClientRect(); // on input only, never per frame
    const sq = square(rect.width, rect.height);
    const x = Math.min(Math.max((event.clientX - rect.left - sq.left) / sq.side, 0), 1);
    const y = Math.min(Math.max(1 - (event.clientY - rect.top - sq.top) / sq.side, 0), 1);
    return [x, y];
  }

  function padPoint(event) {
    [pad.x, pad.y] = padCoordinates(event);
    pad.pointerPressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : null;
  }

  function padMaybeSend() {
    if (performance.now() - pad.lastSent >= SEND_EVERY_MS) padSend();
    else pad.pending = true;
  }

  function setupPad() {
    const canvas = $("pad");
    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      if (pad.lead !== null && pad.second === null && event.pointerId !== pad.lead) {
        pad.second = event.pointerId; // a second finger: control 3 from its height
        pad.secondValue = padCoordinates(event)[1];
        padMaybeSend();
        return;
      }
      if (pad.lead !== null) return; // a third finger changes nothing
      pad.lead = event.pointerId;
      pad.active = true;
      pad.downAt = performance.now();
      document.body.classList.add("playing");
      padPoint(event);
      synth.wake();
      padSend();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (event.pointerId === pad.second) {
        pad.secondValue = padCoordinates(event)[1];
        padMaybeSend();
      } else if (event.pointerId === pad.lead) {
        padPoint(event);
        padMaybeSend();
      }
    });
    const release = (event) => {
      if (event.pointerId === pad.second) {
        pad.second = null;
        pad.secondValue = null;
        return;
      }
      if (event.pointerId !== pad.lead) return;
      if (pad.active && pad.pending) padSend();
      pad.active = false;
      pad.lead = null;
      document.body.classList.remove("playing");
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    canvas.addEventListener("contextmenu", (event) => event.preventDefault()); // a long press
    $("pressure").addEventListener("input", () => {
      $("pressure-value").textContent = Number($("pressure").value).toFixed(2);
    });
  }

  function padTick() {
    // While held: flush a throttled move, and let pressure grow with the hold (~20 updates/s).
    if (!pad.active) return;
    const since = performance.now() - pad.lastSent;
    const growing = $("hold").checked && pad.secondValue === null;
    if ((pad.pending && since >= SEND_EVERY_MS) || (growing && since >= 50)) padSend();
  }

  function drawPad() {
    const { ctx, w, h } = fit($("pad"));
    const sq = square(w, h);
    const glow = ctx.createRadialGradient(
      sq.left + sq.side / 2, sq.top + sq.side / 2, 0,
      sq.left + sq.side / 2, sq.top + sq.side / 2, sq.side * 0.7,
    );
    glow.addColorStop(0, "rgba(61,214,245,0.06)");
    glow.addColorStop(1, "rgba(61,214,245,0)");
    ctx.fillStyle = glow;
    ctx.fillRect(sq.left, sq.top, sq.side, sq.side);
    drawSquareGrid(ctx, sq);
    const P = (x, y) => [sq.left + x * sq.side, sq.top + (1 - y) * sq.side];
    const now = engineNow();
    drawTrails(ctx, P, now, 5, ORIGINS);
    for (const ev of page.events) {
      // each model event ripples out where it played
      if (ev.source !== "model" || ev.t < now - 0.6) continue;
      const age = Math.max((now - ev.t) / 0.6, 0);
      const [x, y] = P(ev.v[0], ev.v.length > 1 ? ev.v[1] : 0.5);
      ctx.strokeStyle = COLOURS.model;
      ctx.globalAlpha = 1 - age;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 6 + age * 28, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    if (pad.active) {
      const [x, y] = P(pad.x, pad.y);
      ctx.strokeStyle = COLOURS.user;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 8 + 26 * pad.pressure, 0, 2 * Math.PI);
      ctx.stroke();
    } else if (page.counts.user === 0 && page.state && page.state.counts.inputs === 0) {
      // only before anyone has played, from anywhere
      label(ctx, "drag here to play", sq.left + sq.side / 2 - 45, sq.top + sq.side / 2, COLOURS.user);
    }
    if (pad.secondValue !== null) { // the second finger's level: control 3
      const y = sq.top + (1 - pad.secondValue) * sq.side;
      ctx.fillStyle = "rgba(61,214,245,0.5)";
      ctx.fillRect(sq.left, y - 1, sq.side, 2);
    }
  }

  // -- sound: a small WebAudio synth, a different voice for you and for the model -------------

  const PENTATONIC = [0, 2, 4, 7, 9];

  const synth = {
    ctx: null,
    out: null,
    on: false,
    voices: 0,
    last: { user: 0, model: 0 },

    wake() {
      if (this.ctx && this.ctx.state === "suspended" && this.on) this.ctx.resume();
    },

    toggle() {
      if (!this.ctx) {
        const Context = window.AudioContext || window.webkitAudioContext;
        if (!Context) return toast("this browser has no WebAudio");
        this.ctx = new Context();
        const compressor = this.ctx.createDynamicsCompressor();
        compressor.connect(this.ctx.destination);
        this.out = this.ctx.createGain();
        this.out.gain.value = 0.8;
        this.out.connect(compressor);
      }
      this.on = !this.on;
      if (this.on) this.ctx.resume();
      const button = $("sound");
      button.textContent = this.on ? "♪ sound on" : "♪ sound off";
      button.classList.toggle("on", this.on);
    },

    play(source, values) {
      if (!this.on || !this.ctx || this.ctx.state !== "running") return;
      const ctx = this.ctx;
      const now = ctx.currentTime;
      if (now - this.last[source] < 0.035 || this.voices > 24) return;
      this.last[source] = now;
      const x = values[0] ?? 0.5;
      const y = values.length > 1 ? values[1] : 0.5;
      const p = values.length > 2 ? values[2] : 0.6;
      const step = Math.min(Math.floor(x * 15), 14);
      const semitones = 12 * Math.floor(step / 5) + PENTATONIC[step % 5];
      const user = source === "user";
      const frequency = (user ? 220 : 329.63) * 2 ** (semitones / 12);
      const osc = ctx.createOscillator();
      osc.type = user ? "triangle" : "sawtooth";
      osc.frequency.value = frequency;
      const filter = ctx.createBiquadFilter();
      filter.type = "lowpass";
      filter.frequency.value = user ? 2500 + 3000 * y : 500 + 3500 * y;
      filter.Q.value = user ? 0.7 : 6;
      const gain = ctx.createGain();
      const peak = (user ? 0.16 : 0.1) * (0.3 + 0.7 * p);
      const length = user ? 0.2 : 0.35;
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(peak, now + 0.006);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + length);
      const pan = ctx.createStereoPanner();
      pan.pan.value = user ? -0.35 : 0.35;
      osc.connect(filter).connect(gain).connect(pan).connect(this.out);
      osc.start(now);
      osc.stop(now + length + 0.02);
      this.voices += 1;
      osc.onended = () => {
        this.voices -= 1;
      };
    },
  };

  // -- controls --------------------------------------------------------------------------------

  const MODE_HELP = {
    listen: "the model listens (learns your state), never plays",
    filter: "the model answers each of your events at once",
    callresponse: "the model plays when you have been silent for the threshold",
    battle: "the model plays on its own, all the time",
    useronly: "no model: your events are logged only",
  };

  function buildModeButtons(modes) {
    const box = $("modes");
    box.replaceChildren();
    for (const mode of modes) {
      const button = document.createElement("button");
      button.textContent = mode === "callresponse" ? "call·resp" : mode;
      button.dataset.mode = mode;
      button.title = MODE_HELP[mode] || mode;
      button.addEventListener("click", () => command("mode", mode));
      box.append(button);
    }
  }

  const sliderTouched = new Map(); // slider -> time of the last change by this page

  function setupSliders() {
    for (const input of document.querySelectorAll("input[data-verb]")) {
      bindSlider(input, $(`${input.id}-value`), (value) => command(input.dataset.verb, value));
    }
  }

  function bindSlider(input, label, push) {
    // Sends at most every 60 ms while dragged, and the final value; `label` shows the value.
    let timer = null;
    input.valueLabel = label;
    const flush = () => {
      timer = null;
      push(Number(input.value));
    };
    input.addEventListener("input", () => {
      sliderTouched.set(input, performance.now());
      showSlider(input);
      if (timer === null) timer = setTimeout(flush, 60);
    });
    input.addEventListener("change", () => {
      sliderTouched.set(input, performance.now());
      if (timer !== null) clearTimeout(timer);
      flush();
    });
    showSlider(input);
  }

  function showSlider(input) {
    const unit = input.dataset.unit || "";
    input.valueLabel.textContent = `${Number(input.value).toFixed(2)}${unit ? " " + unit : ""}`;
  }

  function reflectSlider(input, value) {
    // Shows the engine's value, unless this page changed the slider a moment ago.
    const touched = sliderTouched.get(input) || 0;
    if (performance.now() - touched < 800 || document.activeElement === input && input.matches(":active")) return;
    if (Math.abs(Number(input.value) - value) > 1e-9) {
      input.value = value;
      showSlider(input);
    }
  }

  async function refreshModels() {
    try {
      const query = isEnsemble() ? `?instrument=${encodeURIComponent(page.focus)}` : "";
      const response = await fetch(`api/loadable${query}`);
      const listing = await response.json();
      const select = $("models");
      const chosen = select.value;
      select.replaceChildren();
      if (listing.models.length === 0) {
        const option = new Option(listing.dir ? "no .ftm files in the models folder" : "no models folder", "");
        option.disabled = true;
        select.append(option);
      }
      for (const name of listing.models) select.append(new Option(name, name));
      select.value = listing.models.includes(chosen) ? chosen : (listing.current && listing.models.includes(listing.current) ? listing.current : listing.models[0] || "");
      select.title = listing.dir || "";
    } catch (error) {
      toast(`cannot list models: ${error}`);
    }
  }

  function setupButtons() {
    $("pause").addEventListener("click", togglePause);
    $("reset").addEventListener("click", () => command("reset"));
    $("load").addEventListener("click", () => {
      const name = $("models").value;
      if (name) command("load", name);
    });
    $("models").addEventListener("focus", refreshModels);
    $("learn").addEventListener("click", () => command("learn"));
    $("rollback").addEventListener("click", () => command("rollback", Number($("version").value)));
    setupSteering();
    $("sound").addEventListener("click", () => synth.toggle());
    $("compact").addEventListener("click", toggleLayout);
  }

  // -- steering: range, hold, release per control (the engine's /foretell/range, hold, ...) -----

  function setupSteering() {
    const control = () => Number($("steer-control").value);
    const low = () => Number($("steer-low").value);
    const high = () => Number($("steer-high").value);
    $("steer-range").addEventListener("click", () => command("range", control(), low(), high()));
    $("steer-hold").addEventListener("click", () => command("hold", control(), low()));
    $("steer-temp").addEventListener("click", () => command("controltemp", control(), low()));
    $("steer-dt").addEventListener("click", () => command("dtrange", low(), high()));
    $("steer-release").addEventListener("click", () => command("release", control()));
    $("steer-clear").addEventListener("click", () => command("unconstrain"));
  }

  function showConstraints(state) {
    const select = $("steer-control");
    const n = controlCount();
    if (select.options.length !== n) {
      const chosen = select.value;
      select.replaceChildren(...Array.from({ length: n }, (_, i) => new Option(`c${i + 1}`, String(i))));
      if (chosen && Number(chosen) < n) select.value = chosen;
    }
    const c = state.constraints || {};
    const parts = [
      ...Object.entries(c.ranges || {}).map(([i, [lo, hi]]) => `c${Number(i) + 1} in [${lo}, ${hi}]`),
      ...Object.entries(c.holds || {}).map(([i, v]) => `c${Number(i) + 1} held at ${v}`),
      ...Object.entries(c.control_temps || {}).map(([i, t]) => `c${Number(i) + 1} σ×${t}`),
      ...(c.dt_range ? [`dt in [${c.dt_range[0]}, ${c.dt_range[1]}] s`] : []),
    ];
    $("steer-info").textContent = parts.length ? parts.join(" · ") : "no constraints";
  }

  function drawConstraint(ctx, w, i, Y) {
    // A range as a band on its lane, a held value as a line with a lock.
    const c = page.state && page.state.constraints;
    if (!c) return;
    const range = c.ranges && c.ranges[String(i)];
    if (range) {
      ctx.fillStyle = COLOURS.steer;
      ctx.fillRect(0, Y(range[1]), w, Y(range[0]) - Y(range[1]));
    }
    const held = c.holds && c.holds[String(i)];
    if (held !== undefined) {
      ctx.fillStyle = COLOURS.held;
      ctx.fillRect(0, Y(held) - 1, w, 2);
      label(ctx, "held", w - 40, Y(held) - 4, COLOURS.held, true);
    }
  }

  // -- stage controls: thru, panic, shortcuts, presets -----------------------------------------

  function togglePause() {
    command("pause", page.state && page.state.paused ? 0 : 1);
  }

  function toggleThru() {
    command("thru", page.state && page.state.thru ? 0 : 1);
  }

  function panic() {
    // Every instrument paused and reset, all notes off on every MIDI output (Engine.panic).
    send({ command: "panic" });
    toast("panic: everything paused and reset, all notes off");
  }

  let lastEscape = 0;

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const help = $("help");
    if (help.open) return; // the dialog handles its own keys (Esc closes it)
    const tag = event.target && event.target.tagName;
    const typing = tag === "INPUT" && event.target.type !== "range" && event.target.type !== "checkbox";
    if (typing || tag === "SELECT" || tag === "TEXTAREA") return;
    const modes = (page.hello && page.hello.modes) || [];
    const key = event.key;
    if (key === " ") togglePause();
    else if (key >= "1" && key <= "9" && Number(key) <= modes.length) command("mode", modes[Number(key) - 1]);
    else if (key === "r" || key === "R") command("reset");
    else if (key === "t" || key === "T") toggleThru();
    else if (key === "?") help.showModal();
    else if (key === "Escape") {
      const now = performance.now();
      if (now - lastEscape < 1000) panic();
      lastEscape = now;
      return;
    } else return;
    event.preventDefault();
  }

  const PRESET_KEYS = ["pi_temp", "sigma_temp", "threshold", "timescale"];
  const PRESET_SLIDERS = { pi_temp: "pitemp", sigma_temp: "sigmatemp", threshold: "threshold", timescale: "timescale" };
  const STORE = "foretell.presets";

  function storedPresets() {
    try {
      return JSON.parse(localStorage.getItem(STORE) || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  function loadPresets(fromConfig) {
    // The config's presets, then this browser's (a name saved here wins).
    page.presets = { ...fromConfig, ...storedPresets() };
    showPresets();
  }

  function showPresets(chosen = "") {
    const select = $("presets");
    const names = Object.keys(page.presets).sort();
    select.replaceChildren(new Option(names.length ? "presets…" : "no presets yet", ""),
      ...names.map((name) => new Option(name, name)));
    select.value = names.includes(chosen) ? chosen : "";
  }

  function recallPreset(name) {
    const preset = page.presets[name];
    if (!preset) return;
    for (const key of PRESET_KEYS) {
      if (typeof preset[key] !== "number") continue;
      const slider = $(PRESET_SLIDERS[key]);
      slider.value = preset[key];
      sliderTouched.set(slider, performance.now());
      showSlider(slider);
      command(slider.dataset.verb, preset[key]);
    }
  }

  function savePreset() {
    const name = (prompt("name this preset (π, σ, threshold, timescale)") || "").trim();
    if (!name) return;
    const preset = {};
    for (const key of PRESET_KEYS) preset[key] = Number($(PRESET_SLIDERS[key]).value);
    const stored = storedPresets();
    stored[name] = preset;
    localStorage.setItem(STORE, JSON.stringify(stored));
    page.presets[name] = preset;
    showPresets(name);
  }

  function deletePreset() {
    const name = $("presets").value;
    if (!name) return;
    const stored = storedPresets();
    delete stored[name];
    localStorage.setItem(STORE, JSON.stringify(stored));
    delete page.presets[name];
    const fromConfig = (page.hello && page.hello.presets) || {};
    if (name in fromConfig) page.presets[name] = fromConfig[name]; // the config's stays
    showPresets();
  }

  function setupStageControls() {
    $("thru").addEventListener("click", toggleThru);
    $("panic").addEventListener("click", panic);
    $("help-button").addEventListener("click", () => $("help").showModal());
    $("presets").addEventListener("change", () => recallPreset($("presets").value));
    $("preset-save").addEventListener("click", savePreset);
    $("preset-delete").addEventListener("click", deletePreset);
    document.addEventListener("keydown", onKey);
  }

  // -- the screen stays awake while connected (Wake Lock, where the browser allows) ------------

  let wakeLock = null;

  async function keepAwake(on) {
    if (!on) {
      if (wakeLock) wakeLock.release().catch(() => {});
      wakeLock = null;
      page.wakeLock = "off";
      return;
    }
    if (!("wakeLock" in navigator)) {
      page.wakeLock = "unsupported";
      return;
    }
    if (wakeLock || document.visibilityState !== "visible") return;
    try {
      wakeLock = await navigator.wakeLock.request("screen");
      page.wakeLock = "on";
      wakeLock.addEventListener("release", () => {
        wakeLock = null;
        page.wakeLock = "released";
      });
    } catch (error) {
      page.wakeLock = `refused: ${error.name}`;
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && page.connected) keepAwake(true);
  });

  // -- marks: where the model was swapped or a setting changed -----------------------------------

  function noteChanges(previous, state) {
    if (!previous || previous.instrument !== state.instrument) return;
    const changed = [];
    const prevModel = previous.model && previous.model.path;
    const model = state.model && state.model.path;
    if (prevModel !== model) changed.push(`model ${state.model ? state.model.name : "none"}`);
    for (const [key, name] of MARK_KEYS) {
      if (previous[key] === state[key]) continue;
      const value = state[key];
      changed.push(typeof value === "number" ? `${name} ${value.toFixed(2)}` : typeof value === "boolean" ? `${name} ${value ? "on" : "off"}` : `${name} ${value}`);
    }
    if (!changed.length) return;
    page.marks.push({ t: state.now, text: changed.join(" · ") });
    while (page.marks.length > 64 || (page.marks.length && page.marks[0].t < state.now - KEEP)) page.marks.shift();
  }

  let toastTimer = null;

  function toast(text) {
    page.errors.push(text);
    const box = $("toast");
    box.textContent = text;
    box.style.opacity = 1;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      box.style.opacity = 0;
    }, 5000);
  }

  // -- the state panel -------------------------------------------------------------------------

  let stateCount = 0;

  function onState(state) {
    syncClock(state.now);
    if (state.instrument !== page.focus) return; // from before a change of focus
    noteChanges(page.state, state);
    const pausedNow = Boolean(page.state && page.state.paused) !== state.paused;
    page.state = state;
    if (pausedNow) showPaused(state);
    stateCount += 1;
    reflectSlider($("pitemp"), state.pi_temp);
    reflectSlider($("sigmatemp"), state.sigma_temp);
    reflectSlider($("threshold"), state.threshold);
    reflectSlider($("timescale"), state.timescale);
    if (stateCount % 3 === 1) {
      showState(state); // text at ~10 Hz is plenty
      showConstraints(state);
    }
  }

  function showPaused(state) {
    $("paused-pill").hidden = !state.paused;
    document.body.classList.toggle("paused", state.paused);
  }

  const ms = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(v < 10 ? 2 : 1)} ms`);

  function showState(state) {
    const mode = state.paused ? `${state.mode} · paused` : state.mode;
    $("mode-pill").textContent = isEnsemble() ? `${state.instrument} · ${mode}` : mode;
    for (const button of $("modes").children) {
      button.classList.toggle("active", button.dataset.mode === state.mode);
    }
    $("pause").textContent = state.paused ? "resume" : "pause";
    $("pause").classList.toggle("active", state.paused);
    $("thru").textContent = state.thru ? "thru on" : "thru off";
    $("thru").classList.toggle("on", state.thru);
    showPaused(state);
    const m = state.model;
    $("model-pill").textContent = m ? m.name : "no model";
    $("model-info").innerHTML = m
      ? `<b>${escapeHtml(m.name)}</b><br>${m.layers}×${m.units} LSTM · ${m.mixtures} mixtures · ` +
        `${m.dimension - 1} controls · ${(m.params / 1000).toFixed(1)}k params`
      : "none loaded";
    $("model-info").title = m && m.path ? m.path : "";
    $("rate-in").textContent = state.rates.in.toFixed(1);
    $("rate-out").textContent = state.rates.out.toFixed(1);
    $("lat-p50").textContent = ms(state.latency_ms.p50);
    $("lat-p99").textContent = ms(state.latency_ms.p99);
    const c = state.counts;
    $("inputs").textContent = c.inputs;
    $("outputs").textContent = `${c.answers + c.generated}`;
    $("stale").textContent = `${c.stale} · ${c.cancelled}`;
    const rejected = Object.entries(state.rejected);
    $("rejected").textContent = rejected.length ? rejected.map(([k, v]) => `${k} ${v}`).join(", ") : "none";
    const logPath = state.log.path;
    $("log").textContent = logPath ? `${logPath.split("/").pop()} (${state.log.rows} rows)` : "off";
    $("log").title = logPath || "";
    showLearning(state.learning);
    $("page").textContent = `${fps.toFixed(0)} fps · ${page.counts.user + page.counts.model} events`;
  }

  function showLearning(l) {
    $("learn-row").hidden = !l || l.state === "unavailable";
    if (!l) return;
    const last = l.last || {};
    const nll = last.recent_nll_before !== undefined
      ? ` · last: ${last.recent_nll_before.toFixed(2)} → ${last.recent_nll_after.toFixed(2)} nats` +
        (last.accepted ? " (kept)" : " (not kept)")
      : "";
    const swap = l.swap_ms === null ? "" : ` · swap ${l.swap_ms.toFixed(2)} ms`;
    $("learn-info").textContent =
      `learning ${l.schedule} · ${l.state} · playing v${l.version} of ${l.newest}${swap}${nll}`;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  }

  // -- the frame loop --------------------------------------------------------------------------

  let fps = 0;
  let fpsSince = performance.now();
  let fpsFrames = 0;

  const stripUI = { commandTo, setFocus, bindSlider, reflectSlider, drawStrip };

  function drawStrip(canvas, name, n, compact) {
    // One instrument's lanes, compact; the focus's with what its model expects next.
    if (compact) drawActivity(canvas, trackOf(name).events, n);
    else drawLanes(canvas, trackOf(name).events, n, name === page.focus ? expectBase() : null, 3);
  }

  function drawActivity(canvas, events, n) {
    // One thin lane: the last PAST seconds, every control of every event overlaid.
    const { ctx, w, h } = fit(canvas);
    const now = engineNow();
    const start = now - PAST;
    const X = (t) => ((t - start) / (PAST + 0.25)) * w; // a little room for a clock ahead
    const Y = (v) => 2 + (1 - Math.min(Math.max(v, 0), 1)) * (h - 4);
    ctx.fillStyle = COLOURS.grid;
    for (let s = Math.ceil(start); s < now; s += 1) ctx.fillRect(X(s), 0, 1, h);
    for (const origin of ["model", ...ORIGINS]) {
      ctx.fillStyle = COLOURS[origin];
      for (const ev of events) {
        if (ev.origin !== origin || ev.t < start) continue;
        const x = X(ev.t);
        for (let i = 0; i < Math.min(n, ev.v.length); i += 1) ctx.fillRect(x - 1, Y(ev.v[i]) - 1, 2.5, 2.5);
      }
    }
  }

  function frame() {
    padTick();
    drawTimeline();
    if (strips) strips.draw();
    drawRhythm();
    drawXY();
    drawPad();
    updateCountdown();
    page.frames += 1;
    fpsFrames += 1;
    const now = performance.now();
    if (now - fpsSince >= 1000) {
      fps = (fpsFrames * 1000) / (now - fpsSince);
      fpsSince = now;
      fpsFrames = 0;
    }
    requestAnimationFrame(frame);
  }

  forgetTokenInAddress();
  setupPad();
  setupSliders();
  setupButtons();
  setupStageControls();
  connect();
  requestAnimationFrame(frame);
})();
