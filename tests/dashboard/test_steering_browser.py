"""Steering from the dashboard in headless Chromium: the page sets a range and a hold through the
engine's own verbs, shows them (a band on the lane, a locked line), and what the engine then
sends over real UDP obeys them."""

from __future__ import annotations

from typing import Any

from tests.dashboard.conftest import Live
from tests.dashboard.test_browser import (
    COUNT_COLOUR,
    answers_since,
    drag_on_pad,
    predictions,
    wait_for,
)

HELD_RGB = [0xFF, 0xD2, 0x4A]


def test_range_and_hold_from_the_page(live: Live, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url)
    page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
    page.wait_for_function("document.getElementById('steer-control').options.length === 3")

    page.select_option("#steer-control", "0")
    page.fill("#steer-low", "0.3")
    page.fill("#steer-high", "0.6")
    page.click("#steer-range")
    wait_for(
        lambda: live.settings().constraints.ranges == {0: (0.3, 0.6)}, what="the engine's range"
    )
    page.select_option("#steer-control", "1")
    page.fill("#steer-low", "0.75")
    page.click("#steer-hold")
    wait_for(lambda: live.settings().constraints.holds == {1: 0.75}, what="the engine's hold")
    page.wait_for_function(
        "document.getElementById('steer-info').innerText.includes('c2 held at 0.75')"
    )
    assert "c1 in [0.3, 0.6]" in page.locator("#steer-info").inner_text()
    page.wait_for_function(f"({COUNT_COLOUR})(['#timeline', {HELD_RGB}]) > 100")  # a held line

    page.click("button[data-mode=filter]")
    wait_for(lambda: live.settings().mode == "filter", what="filter mode")
    predictions(live.osc_out)
    before = live.instrument().inputs
    drag_on_pad(page, steps=20)
    answers: list[list[float]] = []
    wait_for(lambda: answers_since(live, before, answers), what="answers to the pad")
    assert all(0.3 <= a[0] <= 0.6 and abs(a[1] - 0.75) < 1e-6 for a in answers), answers

    page.fill("#steer-low", "2")
    page.click("#steer-temp")
    page.fill("#steer-low", "0.05")
    page.fill("#steer-high", "0.5")
    page.click("#steer-dt")
    wait_for(
        lambda: (
            live.settings().constraints.dt_range == (0.05, 0.5)
            and live.settings().constraints.control_temps == {1: 2.0}
        ),
        what="the engine's dtrange and control temperature",
    )
    page.wait_for_function(
        "document.getElementById('steer-info').innerText.includes('dt in [0.05, 0.5] s')"
    )
    page.click("#steer-clear")
    wait_for(lambda: not live.settings().constraints.active, what="every constraint off")
    page.wait_for_function("document.getElementById('steer-info').innerText === 'no constraints'")
    assert errors == [], errors
    assert live.instrument().rejected == {}
    page.close()
