// foretell dashboard: draws the performance, steers the engine, and is a small instrument itself.
//
// One WebSocket (/ws) carries everything. In: {"interface": [..], "t", "dt"} (your events),
// {"prediction": [..], "t", "dt"} (the model's), {"state": {..}}, {"expect": {..}}, {"hello": {..}},
// {"error": ".."}; several may come as one JSON array. Out: {"interface": [..]} from the pad and
// {"command": VERB, "args": [..]} from the controls (the engine's live-control verbs).
// An ensemble adds "instrument": NAME to events in and out and to commands, {"ensemble": {..}}
// frames (one strip each, see strips.js) and {"select": NAME}: the instrument the page looks at
// (its focus: the pad plays it, the synth sounds it, the panel and XY view show and steer it).
// `window.foretell` holds the page's state, for the curious and for tests.
"use strict";

(() => {
  const COLOURS = {
    user: "#3dd6f5",
    model: "#ff8a3d",
    expect: "181,140,255",
    grid: "rgba(255,255,255,0.06)",
    label: "#7d8799",
    now: "rgba(255,255,255,0.45)",
    bg: "#0d121c",
  };
  const PAST = 8; // seconds of history on the timeline
  const FUTURE = 2; // seconds of what comes next
  const KEEP = 12; // seconds of events kept
  const MAX_EVENTS = 6000;
  const TRAIL = 4; // seconds of trail in the XY view and on the pad
  const SEND_EVERY_MS = 16; // the pad sends at most ~60 events per second

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
    if ("interface" in message) addEvent("user", message.interface, message);
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

  function addEvent(source, values, message) {
    const name = message.instrument ?? page.focus;
    const track = trackOf(name);
    const events = track.events;
    events.push({ source, v: values, t: message.t, dt: message.dt });
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

  function fit(canvas) {
    const box = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(box.width * dpr));
    const height = Math.max(1, Math.round(box.height * dpr));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = COLOURS.bg;
    ctx.fillRect(0, 0, box.width, box.height);
    return { ctx, w: box.width, h: box.height };
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
    if (!isEnsemble()) drawLanes($("timeline"), page.events, controlCount(), expectBase());
  }

  function drawLanes(canvas, events, n, next, gap = 6) {
    // One lane per control: the past PAST seconds of events, what comes next FUTURE seconds on.
    const { ctx, w, h } = fit(canvas);
    const now = engineNow();
    const start = now - PAST;
    const X = (t) => ((t - start) / (PAST + FUTURE)) * w;
    const laneH = (h - gap * (n + 1)) / n;
    const xNow = X(now);
    ctx.fillStyle = `rgba(${COLOURS.expect},0.05)`;
    ctx.fillRect(xNow, 0, w - xNow, h);
    for (let i = 0; i < n; i += 1) {
      const top = gap + i * (laneH + gap);
      const Y = (v) => top + (1 - v) * laneH;
      drawLaneGrid(ctx, w, top, laneH);
      if (next) drawExpectedLane(ctx, next, i, X, Y, xNow);
      for (const source of ["user", "model"]) drawLaneEvents(ctx, events, source, i, X, Y, start);
    }
    for (let i = 0; i < n; i += 1) label(ctx, `c${i + 1}`, 6, gap + i * (laneH + gap) + 12, COLOURS.label, true);
    for (let s = Math.ceil(start); s < now + FUTURE; s += 1) {
      ctx.fillStyle = COLOURS.grid;
      ctx.fillRect(X(s), 0, 1, h);
    }
    ctx.fillStyle = COLOURS.now;
    ctx.fillRect(xNow, 0, 1.5, h);
    label(ctx, "now", xNow + 4, h - 4, COLOURS.now);
    if (next) drawCountdownMark(ctx, next, X, h, now);
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

  function drawLaneEvents(ctx, events, source, i, X, Y, start) {
    const colour = COLOURS[source];
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.globalAlpha = 0.55;
    ctx.beginPath();
    let first = true;
    for (const ev of events) {
      if (ev.source !== source || ev.t < start - 1 || ev.v.length <= i) continue;
      const x = X(ev.t);
      const y = Y(ev.v[i]);
      if (first) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
      first = false;
    }
    ctx.stroke();
    ctx.globalAlpha = 1;
    for (const ev of events) {
      if (ev.source !== source || ev.t < start - 1 || ev.v.length <= i) continue;
      ctx.fillRect(X(ev.t) - 1.5, Y(ev.v[i]) - 1.5, 3, 3);
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
    const next = expectBase();
    if (!next) return page.state && page.state.model ? "" : "no model";
    const left = next.due - engineNow();
    const who = next.e.model_plays ? "model plays" : "expects you";
    if (left >= 0) return `${who} in ${left.toFixed(2)} s`;
    if (next.e.model_plays) return "model plays now";
    return `expected you ${(-left).toFixed(1)} s ago`;
  }

  const DT_LOW = -3; // log10 seconds: 1 ms ...
  const DT_HIGH = Math.log10(4); // ... 4 s

  function drawRhythm() {
    const { ctx, w, h } = fit($("rhythm"));
    const now = engineNow();
    const start = now - PAST;
    const X = (t) => ((t - start) / (PAST + FUTURE)) * w;
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
      ctx.fillStyle = COLOURS[ev.source];
      ctx.globalAlpha = 0.85;
      ctx.fillRect(X(ev.t) - 1, y, 2, h - 4 - y);
      ctx.fillRect(X(ev.t) - 2.5, y - 1, 5, 3);
    }
    ctx.globalAlpha = 1;
    for (const [dt, name] of marks) label(ctx, name, 6, Y(dt) - 2, COLOURS.label, true);
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

  function drawTrails(ctx, P, now, radius, sources = ["user", "model"]) {
    for (const source of sources) {
      let last = null;
      for (const ev of page.events) {
        if (ev.source !== source || ev.t < now - TRAIL || ev.v.length < 2) continue;
        const age = Math.min(Math.max((now - ev.t) / TRAIL, 0), 1);
        const [x, y] = P(ev.v[0], ev.v[1]);
        ctx.globalAlpha = 1 - age;
        ctx.strokeStyle = COLOURS[source];
        ctx.fillStyle = COLOURS[source];
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

  // -- the pad: an instrument for mouse and touch ----------------------------------------------

  const pad = {
    active: false,
    x: 0.5,
    y: 0.5,
    pressure: 0.6,
    downAt: 0,
    lastSent: 0,
    pending: false,
    pointerPressure: null,
  };

  function padPressure() {
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
    if ($("hold").checked) $("pressure").value = pad.pressure;
    send({ interface: padValues(), ...target() });
    pad.lastSent = performance.now();
    pad.pending = false;
  }

  function padPoint(event) {
    const box = $("pad").getBoundingClientRect();
    const sq = square(box.width, box.height);
    pad.x = Math.min(Math.max((event.clientX - box.left - sq.left) / sq.side, 0), 1);
    pad.y = Math.min(Math.max(1 - (event.clientY - box.top - sq.top) / sq.side, 0), 1);
    pad.pointerPressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : null;
  }

  function padMaybeSend() {
    if (performance.now() - pad.lastSent >= SEND_EVERY_MS) padSend();
    else pad.pending = true;
  }

  function setupPad() {
    const canvas = $("pad");
    canvas.addEventListener("pointerdown", (event) => {
      canvas.setPointerCapture(event.pointerId);
      pad.active = true;
      pad.downAt = performance.now();
      padPoint(event);
      synth.wake();
      padSend();
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!pad.active) return;
      padPoint(event);
      padMaybeSend();
    });
    const release = () => {
      if (pad.active && pad.pending) padSend();
      pad.active = false;
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    $("pressure").addEventListener("input", () => {
      $("pressure-value").textContent = Number($("pressure").value).toFixed(2);
    });
  }

  function padTick() {
    // While held: flush a throttled move, and let pressure grow with the hold (~20 updates/s).
    if (!pad.active) return;
    const since = performance.now() - pad.lastSent;
    if ((pad.pending && since >= SEND_EVERY_MS) || ($("hold").checked && since >= 50)) padSend();
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
    drawTrails(ctx, P, now, 5, ["user"]);
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
    } else if (page.counts.user === 0) {
      label(ctx, "drag here to play", sq.left + sq.side / 2 - 45, sq.top + sq.side / 2, COLOURS.user);
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
      const response = await fetch(`api/models${query}`);
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
    $("pause").addEventListener("click", () => command("pause", page.state && page.state.paused ? 0 : 1));
    $("reset").addEventListener("click", () => command("reset"));
    $("load").addEventListener("click", () => {
      const name = $("models").value;
      if (name) command("load", name);
    });
    $("models").addEventListener("focus", refreshModels);
    $("learn").addEventListener("click", () => command("learn"));
    $("rollback").addEventListener("click", () => command("rollback", Number($("version").value)));
    $("sound").addEventListener("click", () => synth.toggle());
    $("compact").addEventListener("click", toggleLayout);
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
    page.state = state;
    stateCount += 1;
    reflectSlider($("pitemp"), state.pi_temp);
    reflectSlider($("sigmatemp"), state.sigma_temp);
    reflectSlider($("threshold"), state.threshold);
    reflectSlider($("timescale"), state.timescale);
    if (stateCount % 3 === 1) showState(state); // text at ~10 Hz is plenty
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
    for (const source of ["user", "model"]) {
      ctx.fillStyle = COLOURS[source];
      for (const ev of events) {
        if (ev.source !== source || ev.t < start) continue;
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

  setupPad();
  setupSliders();
  setupButtons();
  connect();
  requestAnimationFrame(frame);
})();
