// The one WebSocket (/ws) to the engine: it reconnects every second while closed, hands each
// message in to `receive`, and sends what the page's controls and pad play.
import { $, showOnline } from "./shared/dom.js";
import { unpack } from "./shared/messages.js";
import { isEnsemble, page } from "./page.js";

/** @type {WebSocket | null} */
let socket = null;

/** The first visit's ?token= is kept as a cookie by the server; keep it out of the address bar. */
export function forgetTokenInAddress() {
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
}

/**
 * @param {(message: Record<string, any>) => void} receive each message in
 * @param {(on: boolean) => void} connected told when the socket opens and closes
 */
export function connect(receive, connected) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.onopen = () => setConnected(true, connected);
  socket.onclose = () => {
    setConnected(false, connected);
    setTimeout(() => connect(receive, connected), 1000);
  };
  socket.onmessage = (message) => {
    for (const item of unpack(message.data)) receive(item);
  };
}

/**
 * @param {boolean} on
 * @param {(on: boolean) => void} connected
 */
function setConnected(on, connected) {
  page.connected = on;
  connected(on);
  showOnline($("conn"), on);
}

/** @param {Record<string, any>} message */
export function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(message));
    page.sent += 1;
  }
}

/**
 * Names the instrument a message is for, in an ensemble (a single instrument needs none).
 * @param {string | null} [name]
 */
export function target(name = page.focus) {
  return isEnsemble() ? { instrument: name } : {};
}

/**
 * A live-control command to the focus.
 * @param {string} verb
 * @param {...any} args
 */
export function command(verb, ...args) {
  send({ command: verb, args, ...target() });
}

/**
 * A live-control command to the instrument `name`.
 * @param {string} name
 * @param {string} verb
 * @param {...any} args
 */
export function commandTo(name, verb, ...args) {
  send({ command: verb, args, ...target(name) });
}
