// The JSON API under /api/ (docs/studio.md), the same one curl can use: one request per action,
// and each error the API answers ({"error": "one line"}) shown in the error line next to the
// action that caused it.
import { $ } from "../shared/dom.js";
import { studio } from "./state.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body, type = "application/json") {
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
    const line = data?.error ? data.error : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, line);
  }
  return data;
}

export const path = (...parts) => parts.map(encodeURIComponent).join("/");

export function showError(line, error) {
  line.textContent = error ? String(error.message || error) : "";
  if (error) studio.errors.push(line.textContent);
}

export async function act(errorLine, action) {
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

export function every(ms, task, now = true) {
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
