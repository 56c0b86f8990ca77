"""Make ``docs/studio-takes.png`` (three takes, each with its plot) and ``docs/studio-train.png``
(an xs model trained on two of them, its loss curves drawn), a laptop at DPR 2, in headless
Chromium against a real ``foretell studio`` of a fresh project.

Usage: ``python -m tests.studio.screenshot [--out DIR] [--scale DPR]`` (default ``docs``, 2). Not
a test; it reuses the tests' wiring (``tests/studio/conftest.py``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.studio.conftest import make_project, studio_of

TAKES = [("warmup", 360, 0.0), ("phrases", 300, 2.0), ("sketch", 160, 4.0)]  # name, events, phase


def main(out: Path, scale: float = 2.0) -> None:
    root = make_project(Path(tempfile.mkdtemp()) / "my-pad")
    with studio_of(root) as studio, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, device_scale_factor=scale
        )
        page = context.new_page()
        page.goto(f"{studio.url}#takes")
        page.wait_for_function("window.studio.online")
        for name, events, phase in TAKES:
            page.fill("#take-name", name)
            page.click("#take-new")
            page.wait_for_selector(f".take[data-name={name}].current")
            for phrase in range(events // 40):  # phrases of 40 events, a breath between them
                studio.play(40, every=0.015, phase=phase + phrase * 1.7)
                time.sleep(0.35)
        for empty in [t["name"] for t in studio.get("/api/takes")["takes"] if not t["events"]]:
            page.click(f".take[data-name='{empty}'] .delete")  # the log opened at the start
            page.click(f".take[data-name='{empty}'] .delete")
        time.sleep(2.5)  # the list and the plots catch up with the last take
        page.screenshot(path=str(out / "studio-takes.png"))

        page.click("nav a[data-tab=datasets]")
        for name, _, _ in TAKES[:2]:
            page.check(f"#dataset-takes input[value={name}]")
        page.fill("#dataset-name", "first-two")
        page.click("#dataset-build")
        page.wait_for_selector(".dataset[data-name=first-two]")
        page.click("nav a[data-tab=train]")
        page.select_option("#train-dataset", "first-two")
        page.select_option("#train-size", "xs")
        page.fill("#train-name", "pad-xs")
        page.click("#train-start")
        page.wait_for_function(
            "window.studio.job && window.studio.job.state !== 'running'", timeout=180000
        )
        time.sleep(0.3)
        page.screenshot(path=str(out / "studio-train.png"))
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder (default docs)")
    parser.add_argument("--scale", type=float, default=2.0, help="device pixel ratio (default 2)")
    args = parser.parse_args()
    main(args.out, args.scale)
