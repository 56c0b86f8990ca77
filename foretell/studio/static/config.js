// The Config tab: the project's foretell.toml, checked by the server as `foretell run` checks it
// before anything is written; what was applied live, refused, or waits for the next start.
import { $, el } from "../shared/dom.js";
import { act, api } from "./api.js";
import { studio } from "./state.js";

let configDirty = false;

/** Whether the text was edited since it was last read or saved. */
export function configEdited() {
  return configDirty;
}

/** The text was edited (its field's input event). */
export function markConfigEdited() {
  configDirty = true;
}

export async function loadConfig() {
  const text = await act("config-error", () => api("GET", "/api/config"));
  if (typeof text !== "string") return;
  studio.config = text;
  $("config-text").value = text;
  configDirty = false;
  $("config-note").textContent = "";
}

export async function saveConfig() {
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
  const list = (items) => (items?.length ? items.join(", ") : "nothing");
  const note = $("config-note");
  note.className = "note ok";
  const parts = ["saved · applied live: ", el("b", { class: "applied" }, list(reply.applied))];
  if (reply.refused?.length) {
    parts.push(
      " · refused by the running engine: ",
      el("b", { class: "refused" }, reply.refused.join("; ")),
    );
  }
  parts.push(" · on the next start: ", el("b", { class: "on-restart" }, list(reply.on_restart)));
  note.replaceChildren(...parts);
}
