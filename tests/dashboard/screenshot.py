"""Make ``docs/dashboard.png`` (a model answering a gesture on the pad, a laptop at DPR 2),
``docs/dashboard-phone.png`` (the same played by touch on a 390x844 phone at DPR 3) and
``docs/dashboard-ensemble.png`` (four instruments playing, one strip each), in headless Chromium.

Usage: ``python -m tests.dashboard.screenshot [--ensemble | --phone] [--scale DPR] MODEL.ftm
OUT.png`` (a trained model makes a more telling picture than a random one). Not a test; it
reuses the tests' wiring.

The ensemble shares MODEL between ``lead`` (call-response, played on the pad: the page's focus),
``bass`` (filter, answering a performer who plays it over OSC), ``keys`` (battle, on its own) and
``echo`` (filter, listening to everything lead hears and plays).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from foretell.config import (
    InteractionConfig,
    LogConfig,
    ModelConfig,
    OscConfig,
    RunConfig,
    config_from_dict,
)
from foretell.dashboard.server import serve_dashboard
from foretell.io.osc_codec import encode_floats
from foretell.perform.session import EngineHandle, start_engine
from tests.chromium import CHROMIUM, CHROMIUM_ARGS


def _single(model: Path, logs: Path) -> EngineHandle:
    config = RunConfig(
        model=ModelConfig(file=model, seed=3, sigma_temp=0.6),
        interaction=InteractionConfig(mode="callresponse", threshold=0.35),
        osc=OscConfig(listen_host="127.0.0.1", listen_port=0, send_port=9),
        log=LogConfig(dir=logs),
    )
    return start_engine(config)


def _ensemble(model: Path, logs: Path) -> EngineHandle:
    config = config_from_dict(
        {
            "model": {"file": str(model), "seed": 3, "sigma_temp": 0.6},
            "interaction": {"threshold": 0.35},
            "osc": {"listen_host": "127.0.0.1", "listen_port": 0, "send_port": 9},
            "log": {"dir": str(logs)},
            "instrument": {
                "lead": {"mode": "callresponse"},
                "bass": {"mode": "filter", "pi_temp": 0.8},
                "keys": {"mode": "battle", "sigma_temp": 0.4, "timescale": 1.5},
                "echo": {"mode": "filter", "listen_to": ["lead:all"], "pi_temp": 1.3},
            },
        }
    )
    return EngineHandle(config).start()


def _performer(address: tuple[str, int], stop: threading.Event) -> None:
    """Someone playing ``bass`` over OSC: slow, swaying phrases with a breath between them."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        i = 0
        while not stop.wait(0.09 if i % 24 < 18 else 0.3):
            a = i / 7
            values = [
                0.5 + 0.35 * math.sin(a),
                0.3 + 0.2 * math.cos(0.6 * a),
                0.8 - 0.02 * (i % 18),
            ]
            sock.sendto(encode_floats("/interface", values), address)
            i += 1


def _gesture(page: Any) -> None:
    """A slow loop around the pad, ~3 s."""
    box = page.locator("#pad").bounding_box()
    assert box is not None
    side = min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    page.mouse.move(left + side * 0.25, top + side * 0.5)
    page.mouse.down()
    for i in range(140):
        a = 2 * math.pi * i / 90
        x, y = 0.5 + 0.3 * math.cos(a), 0.5 + 0.28 * math.sin(1.5 * a)
        page.mouse.move(left + side * x, top + side * y)
        time.sleep(0.022)
    page.mouse.up()


def _touch_gesture(page: Any) -> None:
    """The same loop drawn by a finger (Chromium's touch input, as a phone makes it)."""
    box = page.locator("#pad").bounding_box()
    assert box is not None
    side = min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    cdp = page.context.new_cdp_session(page)
    for i in range(141):
        a = 2 * math.pi * i / 90
        x, y = 0.5 + 0.3 * math.cos(a), 0.5 + 0.28 * math.sin(1.5 * a)
        kind = "touchStart" if i == 0 else "touchMove"
        point = {"x": left + side * x, "y": top + side * y, "id": 0}
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [point]})
        time.sleep(0.022)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def main(
    model: Path, out: Path, ensemble: bool = False, phone: bool = False, scale: float = 2.0
) -> None:
    model, logs = model.resolve(), Path(tempfile.mkdtemp()) / "logs"
    engine = _ensemble(model, logs) if ensemble else _single(model, logs)
    stop = threading.Event()
    with engine, sync_playwright() as playwright:
        loop = engine.call(asyncio.get_running_loop)
        assert engine.session is not None
        session_engine = engine.session.engine
        dashboard = engine.call(
            lambda: serve_dashboard(session_engine, "127.0.0.1", 0, model.parent)
        )
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 800}
        context = browser.new_context(
            viewport=viewport, device_scale_factor=scale, has_touch=phone, is_mobile=phone
        )
        page = context.new_page()
        page.goto(dashboard.url)
        page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
        if isinstance(engine, EngineHandle):
            bass = engine.osc_address_of("bass")
            threading.Thread(target=_performer, args=(bass, stop), daemon=True).start()
            time.sleep(3.0)  # bass and keys fill their strips before lead comes in
        if phone:
            _touch_gesture(page)
        else:
            _gesture(page)
        time.sleep(1.6)  # the model answers the silence
        page.screenshot(path=str(out))
        stop.set()
        browser.close()
        asyncio.run_coroutine_threadsafe(dashboard.aclose(), loop).result(5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ensemble", action="store_true", help="four instruments, one strip each")
    parser.add_argument("--phone", action="store_true", help="a 390x844 phone, played by touch")
    parser.add_argument("--scale", type=float, default=2.0, help="device pixel ratio (default 2)")
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    main(args.model, args.out, args.ensemble, args.phone, args.scale)
