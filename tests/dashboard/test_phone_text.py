"""On a phone, in real Chromium: a number keeps its unit on its line ("next 2 s", never "next 2"
over "s"), and the lanes' names (c1, c2, c3) sit clear of the events, which never run under them
(eight seconds played, so the trace spans the whole window)."""

from __future__ import annotations

import socket
import time
from typing import Any

from foretell.io.osc_codec import encode_floats
from tests.dashboard.conftest import Live
from tests.dashboard.test_browser import OSC_RGB

SPLIT_UNITS = """() => {
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.offsetParent) continue;  // not shown
    const pattern = /\\d[\\d.]*\\s(?:s|ms|×)(?![\\w])/g;
    let found;
    while ((found = pattern.exec(node.textContent))) {
      const range = document.createRange();
      range.setStart(node, found.index);
      range.setEnd(node, found.index + found[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0)
        .map((r) => Math.round(r.top)));
      if (tops.size > 1) split.push(`${found[0]} in .${node.parentElement.className}`);
    }
  }
  return split;
}"""

DATA_IN = """([selector, rgb, x0, x1]) => {
  const canvas = document.querySelector(selector);
  const scale = canvas.width / canvas.clientWidth;
  const a = Math.floor(x0 * scale), b = Math.ceil(x1 * scale);
  const data = canvas.getContext('2d').getImageData(a, 0, b - a, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - rgb[0]) < 40 && Math.abs(data[i + 1] - rgb[1]) < 40
        && Math.abs(data[i + 2] - rgb[2]) < 40) n += 1;
  }
  return n;
}"""


def test_a_phone_keeps_units_with_their_numbers_and_the_lane_names_clear(
    live: Live, browser: Any
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        has_touch=True,
        is_mobile=True,
    )
    page = context.new_page()
    try:
        page.goto(live.url)
        page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as osc:
            end = time.monotonic() + 9.0  # past the timeline's 8 s: its left edge has events
            i = 0
            while time.monotonic() < end:
                values = [(i % 20) / 20, 1 - (i % 20) / 20, 0.5]
                osc.sendto(encode_floats("/interface", values), live.engine.osc_address)
                i += 1
                time.sleep(0.02)
        page.wait_for_function("document.querySelector('#countdown').textContent.length > 10")
        assert page.evaluate(SPLIT_UNITS) == []
        assert page.evaluate(DATA_IN, ["#timeline", list(OSC_RGB), 0, 20]) == 0
        assert page.evaluate(DATA_IN, ["#timeline", list(OSC_RGB), 40, 120]) > 50  # it is drawn
    finally:
        context.close()
