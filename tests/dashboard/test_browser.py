"""End to end in headless Chromium: play on the pad, watch the model answer, steer the engine.

The engine runs a random-weight model and sends ``/prediction`` over real UDP to a socket the test
reads, so every check of "the engine obeyed" is made on what the engine actually sent.
"""

from __future__ import annotations

import socket
import struct
import time
import zlib
from pathlib import Path
from typing import Any

from foretell.io.osc_codec import decode_packet
from tests.dashboard.conftest import Live
from tests.osc_peers import wait_for

USER_RGB = (0x3D, 0xD6, 0xF5)  # the pad's inputs
OSC_RGB = (0x5E, 0xE3, 0x8B)  # inputs that came over OSC
MODEL_RGB = (0xFF, 0x8A, 0x3D)


# -- helpers --------------------------------------------------------------------------------------


def predictions(sock: socket.socket) -> list[list[float]]:
    """Every ``/prediction`` waiting on the socket (drains it)."""
    found: list[list[float]] = []
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return found
        for address, args in decode_packet(data):
            if address == "/prediction":
                found.append([float(v) for v in args])  # type: ignore[arg-type]


def answers_since(live: Live, before: int, found: list[list[float]]) -> bool:
    """Whether ``found`` (each call adds what waits on the socket) answers nine in ten of the
    inputs since ``before``, and there have been ten."""
    found += predictions(live.osc_out)
    inputs = live.instrument().inputs - before
    return inputs >= 10 and len(found) >= 0.9 * inputs


def next_frames(page: Any, count: int = 3, within: float = 30.0) -> None:
    """Wait until the page has drawn ``count`` more animation frames (at most ``within`` s: a
    loaded machine draws a few frames a second)."""
    drawn = page.evaluate(
        """([count, within]) => new Promise((done) => {
          const step = (left) => left ? requestAnimationFrame(() => step(left - 1)) : done(true);
          step(count);
          setTimeout(() => done(false), within * 1000);
        })""",
        [count, within],
    )
    assert drawn, f"the page drew fewer than {count} frames in {within:g} s"


def drag_on_pad(page: Any, steps: int = 30, x0: float = 0.2, x1: float = 0.8) -> None:
    """Press on the pad, draw a wavy line across it, release."""
    box = page.locator("#pad").bounding_box()
    side = min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    page.mouse.move(left + side * x0, top + side * 0.5)
    page.mouse.down()
    for i in range(steps):
        f = i / (steps - 1)
        y = 0.5 + 0.3 * (1 if i % 6 < 3 else -1) * f
        page.mouse.move(left + side * (x0 + (x1 - x0) * f), top + side * y)
        time.sleep(0.02)
    page.mouse.up()


COUNT_COLOUR = """([selector, rgb]) => {
  const c = document.querySelector(selector);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - rgb[0]) < 24 && Math.abs(data[i + 1] - rgb[1]) < 24
        && Math.abs(data[i + 2] - rgb[2]) < 24) n += 1;
  }
  return n;
}"""


def read_png(path: Path) -> tuple[int, int, bytes]:
    """Width, height and RGBA rows (filters undone) of an 8-bit RGB(A) PNG, without Pillow."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), "expected 8-bit RGB or RGBA"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, out, previous = zlib.decompress(idat), width * channels, bytearray(), None
    for row in range(height):
        start = row * (stride + 1)
        method, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        prior = previous or bytearray(stride)
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prior[i], prior[i - channels] if i >= channels else 0
            if method == 1:
                line[i] = (line[i] + a) & 255
            elif method == 2:
                line[i] = (line[i] + b) & 255
            elif method == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif method == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        previous = line
    return width, height, bytes(out) if channels == 4 else _rgb_to_rgba(bytes(out))


def _rgb_to_rgba(rgb: bytes) -> bytes:
    out = bytearray()
    for i in range(0, len(rgb), 3):
        out += rgb[i : i + 3] + b"\xff"
    return bytes(out)


def colour_share(pixels: bytes, rgb: tuple[int, int, int], tolerance: int = 24) -> int:
    """How many pixels lie within ``tolerance`` of ``rgb`` (every channel)."""
    return sum(
        1
        for i in range(0, len(pixels), 16)  # every 4th pixel is plenty
        if all(abs(pixels[i + k] - rgb[k]) < tolerance for k in range(3))
    )


LAST_SHOWN = """() => {
  const model = window.foretell.events.filter((e) => e.source === "model");
  const expect = window.foretell.expect;
  return model.length && expect ? { last: model[model.length - 1], expect } : null;
}"""


def _showing_the_last_answer(page: Any, live: Live, before: int, sent: list[list[float]]) -> Any:
    """The page's expectation once every answer since ``before`` has come over OSC (gathered in
    ``sent``), the page has the last of them and shows what the model expects after it (its
    ``t0`` is that event's time), else None. (A lagging page may lose older events, never the
    newest.)"""
    sent += predictions(live.osc_out)
    if not sent or len(sent) != live.instrument().answers - before:
        return None
    shown = page.evaluate(LAST_SHOWN)
    if not shown or any(
        abs(a - b) > 1e-5 for a, b in zip(shown["last"]["v"], sent[-1], strict=True)
    ):
        return None
    return shown["expect"] if shown["expect"]["t0"] == shown["last"]["t"] else None


# -- the test -------------------------------------------------------------------------------------


def test_play_watch_and_steer_in_chromium(live: Live, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url)
    page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
    assert page.locator("#mode-pill").inner_text().lower() == "listen"
    assert "random.ftm" in page.locator("#model-info").inner_text()
    assert page.locator("#learn-row").is_hidden(), "learn buttons without foretell run --learn"

    # listen: the pad plays into the engine, which logs and listens but sends nothing
    drag_on_pad(page)
    wait_for(lambda: live.instrument().inputs >= 10, what="pad inputs to reach the engine")
    listened = live.instrument()
    assert listened.answers == listened.generated == 0, "listen mode must not send predictions"
    assert predictions(live.osc_out) == []
    page.wait_for_function("window.foretell.counts.user >= 10")

    # filter: one answer per input, over OSC and drawn on the page in the model's colour
    page.click("button[data-mode=filter]")
    wait_for(lambda: live.settings().mode == "filter", what="the engine to switch to filter")
    page.wait_for_function(
        "document.querySelector('button[data-mode=filter]').classList.contains('active')"
    )
    before = live.instrument().inputs
    drag_on_pad(page)
    answers: list[list[float]] = []
    wait_for(lambda: answers_since(live, before, answers), what="an answer to each pad input")
    assert all(len(a) == 3 for a in answers)
    page.wait_for_function(f"window.foretell.counts.model >= {len(answers)}")
    assert page.evaluate(COUNT_COLOUR, ["#timeline", list(MODEL_RGB)]) > 20, "no model events drawn"
    assert page.evaluate(COUNT_COLOUR, ["#timeline", list(USER_RGB)]) > 20, "no user events drawn"

    # temperatures 0: the engine answers with the mean of the component the page shows first
    page.fill("#pitemp", "0")
    page.fill("#sigmatemp", "0")
    wait_for(
        lambda: (live.settings().pi_temp, live.settings().sigma_temp) == (0.0, 0.0),
        what="the engine to take both temperatures",
    )
    before, sent = live.instrument().answers, []
    drag_on_pad(page, steps=12)
    expect = wait_for(
        lambda: _showing_the_last_answer(page, live, before, sent),
        timeout=30,
        what="the page to show what the model expects after its last answer",
    )
    assert len(expect["components"]) == 1  # π-temperature 0: the heaviest component only
    means = [control[0] for control in expect["components"][0]["x"]]
    assert all(abs(a - b) < 1e-3 for a, b in zip(sent[-1], means, strict=True)), (sent, means)
    assert all(lo == hi for _, lo, hi in expect["components"][0]["x"])  # σ-temperature 0

    # σ-temperature back up: answers are drawn around the mean, no longer the mean itself
    page.fill("#sigmatemp", "1.5")
    wait_for(lambda: live.settings().sigma_temp == 1.5, what="σ-temperature 1.5")
    before, sent = live.instrument().answers, []
    drag_on_pad(page, steps=12)
    expect = wait_for(
        lambda: _showing_the_last_answer(page, live, before, sent),
        timeout=30,
        what="the page to show what the model expects after its last answer",
    )
    means = [control[0] for control in expect["components"][0]["x"]]
    assert any(abs(a - b) > 1e-3 for a, b in zip(sent[-1], means, strict=True)), (sent, means)

    # threshold, reset and hot load go through the same command path
    page.fill("#threshold", "0.5")
    wait_for(lambda: live.settings().threshold == 0.5, what="threshold 0.5")
    page.click("#reset")
    page.select_option("#models", "other.ftm")
    page.click("#load")
    wait_for(
        lambda: str(live.instrument().model).endswith("other.ftm"), what="the hot-loaded model"
    )
    page.wait_for_function("document.getElementById('model-info').innerText.includes('other.ftm')")

    # a screenshot of the whole page, inspected without Pillow: canvases drawn, both colours there
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot))
    width, height, pixels = read_png(shot)
    assert (width, height) == (1280, 800)
    assert colour_share(pixels, MODEL_RGB) > 10 and colour_share(pixels, USER_RGB) > 10
    assert len({pixels[i : i + 3] for i in range(0, len(pixels), 64)}) > 50, "screenshot is blank"
    assert errors == [], errors
    assert live.instrument().rejected == {}
    page.close()


def test_bad_messages_are_rejected_and_answered(live: Live, browser: Any) -> None:
    page = browser.new_page()
    page.goto(live.url)
    page.wait_for_function("window.foretell.connected")
    page.evaluate(
        """() => new Promise((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/ws`);
          const replies = [];
          ws.onopen = () => {
            ws.send('not json');
            ws.send(JSON.stringify({command: 'mode', args: ['nonsense']}));
            ws.send(JSON.stringify({command: 'load', args: ['../../etc/passwd']}));
          };
          ws.onmessage = (m) => {
            const data = JSON.parse(m.data);
            for (const item of Array.isArray(data) ? data : [data]) {
              if ('error' in item) replies.push(item.error);
            }
            if (replies.length === 3) { ws.close(); resolve(replies); }
          };
        })"""
    )
    rejected = wait_for(lambda: live.instrument().rejected, what="rejections to be counted")
    assert rejected == {"malformed": 1, "bad_command": 2}
    assert live.settings().mode == "listen"
    page.close()
