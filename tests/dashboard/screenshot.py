"""Make ``docs/dashboard.png``: a model answering a gesture on the pad, in headless Chromium.

Usage: ``python -m tests.dashboard.screenshot MODEL.ftm docs/dashboard.png`` (a trained model
makes a more telling picture than a random one). Not a test; it reuses the tests' wiring.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from foretell.config import InteractionConfig, LogConfig, ModelConfig, OscConfig, RunConfig
from foretell.dashboard.server import serve_dashboard
from foretell.perform.session import start_engine
from tests.dashboard.conftest import CHROMIUM, CHROMIUM_ARGS


def main(model: Path, out: Path) -> None:
    config = RunConfig(
        model=ModelConfig(file=model.resolve(), seed=3, sigma_temp=0.6),
        interaction=InteractionConfig(mode="callresponse", threshold=0.35),
        osc=OscConfig(listen_host="127.0.0.1", listen_port=0, send_port=9),
        log=LogConfig(dir=Path(tempfile.mkdtemp()) / "logs"),
    )
    with start_engine(config) as engine, sync_playwright() as playwright:
        loop = engine.call(asyncio.get_running_loop)
        assert engine.session is not None
        session_engine = engine.session.engine
        dashboard = engine.call(
            lambda: serve_dashboard(session_engine, "127.0.0.1", 0, model.resolve().parent)
        )
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 880})
        page.goto(dashboard.url)
        page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
        box = page.locator("#pad").bounding_box()
        assert box is not None
        side = min(box["width"], box["height"])
        left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
        page.mouse.move(left + side * 0.25, top + side * 0.5)
        page.mouse.down()
        for i in range(140):  # a slow loop around the pad, ~3 s
            a = 2 * math.pi * i / 90
            x, y = 0.5 + 0.3 * math.cos(a), 0.5 + 0.28 * math.sin(1.5 * a)
            page.mouse.move(left + side * x, top + side * y)
            time.sleep(0.022)
        page.mouse.up()
        time.sleep(1.6)  # the model answers the silence
        page.screenshot(path=str(out))
        browser.close()
        asyncio.run_coroutine_threadsafe(dashboard.aclose(), loop).result(5)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
