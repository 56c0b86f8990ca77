// The dashboard's frame on Perform: as tall as what it shows, so that only the studio's page
// scrolls (the whole dashboard on a phone, its side panel on a laptop).
import { $ } from "../shared/dom.js";

export const FRAME_EVERY_MS = 500;
const FRAME_MIN = 520; // px: the frame's least height, a short window or not

function scrolls(node) {
  const overflow = getComputedStyle(node).overflowY;
  return (
    node === node.ownerDocument.documentElement || overflow === "auto" || overflow === "scroll"
  );
}

export function fitDashboard(reset = false) {
  // Fill the window below the tabs, then grow by whatever scrolls inside the frame (the whole
  // dashboard on a phone, its side panel on a laptop) until nothing there does.
  const frame = $("dashboard");
  const doc = frame.contentDocument;
  if ($("perform").hidden || !doc || !doc.body) return; // Perform is not shown
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
