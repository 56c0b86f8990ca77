"""The page's side of the engine's messages, in real Chromium against a scripted engine
(``tests/dashboard/scripted.py``): the live settings' ranges (``{"settings": [...]}``, sent
once on connect) set the sliders."""

from __future__ import annotations

import time
from typing import Any

from tests.dashboard.scripted import hello, scripted_engine, state
from tests.waiting import wait_until

SETTINGS = [
    {"verb": "pitemp", "kind": "number", "min": 0.0, "max": 10.0, "step": 0.01, "default": 1.0,
     "unit": "", "doc": "π-temperature: how freely the model picks a mixture component"},
    {"verb": "timescale", "kind": "number", "min": 0.05, "max": 20.0, "step": 0.05,
     "default": 1.0, "unit": "×", "doc": "the model's time between events, scaled"},
    {"verb": "thru", "kind": "flag", "default": 0.0, "doc": "input thru"},
    None,  # not a setting: left out
    {"verb": "sigmatemp", "kind": "number", "min": "low", "max": None},  # no usable range
]  # fmt: skip


def test_sliders_take_their_ranges_from_the_engine(browser: Any) -> None:
    script = [hello(), {"settings": SETTINGS}, state(time.monotonic())]
    with scripted_engine(script) as engine:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(engine.url)
            page.wait_for_function("window.foretell.settings.length > 0")
            pi = page.locator("#pitemp")
            assert (pi.get_attribute("min"), pi.get_attribute("max")) == ("0", "10")
            assert pi.get_attribute("title") == SETTINGS[0]["doc"]  # type: ignore[index]
            timescale = page.locator("#timescale")
            assert timescale.get_attribute("min") == "0.05"
            assert timescale.get_attribute("max") == "20"
            assert page.locator("#timescale-value").inner_text() == "1.00 ×"
            sigma = page.locator("#sigmatemp")  # the page's own range stands
            assert (sigma.get_attribute("min"), sigma.get_attribute("max")) == ("0", "2")

            page.fill("#pitemp", "7.5")  # beyond the page's own 0..2
            wait_until(lambda: engine.commands("pitemp"), what="the page's pitemp command")
            assert engine.commands("pitemp")[-1] == [7.5]
            assert page.locator("#pitemp-value").inner_text() == "7.50"
        finally:
            page.close()
        assert errors == [], errors
