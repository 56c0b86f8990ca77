"""A big ensemble in headless Chromium: compact rows, one per instrument, that all fit on a
1280x900 screen; each row's activity lane lights with its own instrument's events only; the card's
toggle switches between compact rows and full strips. Events reach the engine over real OSC."""

from __future__ import annotations

import time
from typing import Any

from tests.dashboard.conftest import BIG_ENSEMBLE, ENSEMBLE, LiveEnsemble
from tests.dashboard.test_browser import COUNT_COLOUR, MODEL_RGB, OSC_RGB, wait_for

VIEWPORT = {"width": 1280, "height": 900}


def strip(name: str) -> str:
    return f'.strip[data-instrument="{name}"]'


def lane(name: str) -> str:
    return f"{strip(name)} canvas"


def open_page(live: LiveEnsemble, browser: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport=VIEWPORT)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url)
    page.wait_for_function("window.foretell.state !== null && window.foretell.ensemble !== null")
    return page


def boxes(page: Any, names: list[str]) -> dict[str, dict[str, float]]:
    return {name: page.locator(strip(name)).bounding_box() for name in names}


def inside(box: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        box["x"] >= outer["x"] - 0.5
        and box["y"] >= outer["y"] - 0.5
        and box["x"] + box["width"] <= outer["x"] + outer["width"] + 0.5
        and box["y"] + box["height"] <= outer["y"] + outer["height"] + 0.5
    )


def colours(page: Any, name: str) -> tuple[int, int]:
    return (
        page.evaluate(COUNT_COLOUR, [lane(name), list(OSC_RGB)]),
        page.evaluate(COUNT_COLOUR, [lane(name), list(MODEL_RGB)]),
    )


def test_sixteen_compact_rows_fit_and_light_their_own_lane(
    big_ensemble: LiveEnsemble, browser: Any
) -> None:
    errors: list[str] = []
    page = open_page(big_ensemble, browser, errors)
    names = list(BIG_ENSEMBLE)
    assert page.locator(".strip .strip-name").all_inner_texts() == names
    assert page.evaluate("window.foretell.compact") is True
    assert page.locator("#compact").inner_text() == "compact"
    assert "compact" in (page.locator("#strips").get_attribute("class") or "")

    # every row on screen, none scrolled away: inside the viewport and inside the strips box
    screen = {"x": 0, "y": 0, **VIEWPORT}
    strips_box = page.locator("#strips").bounding_box()
    for name, box in boxes(page, names).items():
        assert inside(box, screen), (name, box)
        assert inside(box, strips_box), (name, box, strips_box)
        assert box["height"] <= 30, (name, box)
    assert page.evaluate(
        "(() => { const s = document.getElementById('strips');"
        " return s.scrollHeight <= s.clientHeight; })()"
    )
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")
    # a row keeps its name, mode, π/σ and rates in view, and a lane one row thin
    row = page.locator(strip("p16"))
    for part in (".strip-name", ".strip-mode", ".strip-pitemp", ".strip-sigmatemp", ".strip-rates"):
        assert row.locator(part).is_visible(), part
        assert inside(row.locator(part).bounding_box(), screen), part
    canvas = row.locator("canvas").bounding_box()
    assert canvas["height"] <= 24 and canvas["width"] >= 200, canvas

    # p05 (filter) gets real OSC input and answers; its lane lights, the others' stay dark
    for i in range(24):
        big_ensemble.send("p05", [0.1 + 0.8 * (i % 6) / 5, 0.5, 0.8])
        time.sleep(0.02)
    wait_for(lambda: big_ensemble.instrument("p05").inputs == 24, what="p05's OSC inputs")
    page.wait_for_function("window.foretell.tracks.p05.counts.model >= 20")
    page.wait_for_function(f"({COUNT_COLOUR})([{lane('p05')!r}, {list(MODEL_RGB)}]) > 20")
    page.wait_for_function(f"({COUNT_COLOUR})([{lane('p05')!r}, {list(OSC_RGB)}]) > 10")
    for other in names:
        if other != "p05":
            assert colours(page, other) == (0, 0), other
    page.wait_for_function(
        "document.querySelector('.strip[data-instrument=\"p05\"] .strip-rates')"
        ".textContent.includes(' in')"
    )

    # clicking a name still focuses that instrument
    page.click(f"{strip('p12')} .strip-name")
    page.wait_for_function(
        "window.foretell.focus === 'p12' && window.foretell.state.instrument === 'p12'"
    )
    assert "focus" in (page.locator(strip("p12")).get_attribute("class") or "")

    # the toggle switches back to full strips: taller, lanes per control, no longer all in view
    page.click("#compact")
    page.wait_for_function("window.foretell.compact === false")
    assert page.locator("#compact").inner_text() == "full"
    assert "compact" not in (page.locator("#strips").get_attribute("class") or "")
    full = boxes(page, names)
    assert all(box["height"] >= 60 for box in full.values()), full
    assert not all(inside(box, screen) for box in full.values())
    page.click("#compact")
    page.wait_for_function("window.foretell.compact === true")
    assert all(inside(box, screen) for box in boxes(page, names).values())
    assert errors == [], errors
    page.close()


def test_a_small_ensemble_starts_full_and_toggles_compact(
    ensemble: LiveEnsemble, browser: Any
) -> None:
    errors: list[str] = []
    page = open_page(ensemble, browser, errors)
    names = list(ENSEMBLE)
    assert page.evaluate("window.foretell.compact") is False
    assert page.locator("#compact").inner_text() == "full"
    assert all(box["height"] >= 60 for box in boxes(page, names).values())

    page.click("#compact")
    page.wait_for_function("window.foretell.compact === true")
    assert page.locator("#compact").inner_text() == "compact"
    assert all(box["height"] <= 30 for box in boxes(page, names).values())
    for i in range(24):
        ensemble.send("b", [0.1 + 0.8 * (i % 6) / 5, 0.5, 0.8])
        time.sleep(0.02)
    page.wait_for_function(f"({COUNT_COLOUR})([{lane('b')!r}, {list(MODEL_RGB)}]) > 20")
    page.wait_for_function(f"({COUNT_COLOUR})([{lane('b')!r}, {list(OSC_RGB)}]) > 10")
    assert colours(page, "a") == colours(page, "c") == (0, 0)

    page.click("#compact")
    page.wait_for_function("window.foretell.compact === false")
    assert all(box["height"] >= 60 for box in boxes(page, names).values())
    assert errors == [], errors
    page.close()


def test_the_single_instrument_page_has_no_strips(live: Any, browser: Any) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(live.url)
    page.wait_for_function("window.foretell.state !== null")
    assert page.locator("#compact").is_hidden() and page.locator(".strips-card").is_hidden()
    assert page.locator("#timeline").is_visible()
    assert page.evaluate("document.body.classList.contains('compact')") is False
    page.close()
