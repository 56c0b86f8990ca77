"""The page's side of two messages, in real Chromium against a scripted engine
(``tests/dashboard/scripted.py``): the live settings' ranges (``{"settings": [...]}``, sent
once on connect) set the sliders, and which controls moved in an event (``"moved"``) shows on
the lanes: a point where a control moved, only a faint line where it held its value."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.dashboard.scripted import hello, scripted_engine, state
from tests.dashboard.test_browser import MODEL_RGB, next_frames
from tests.waiting import wait_until

LANE_PIXELS = """([lane, lanes, test]) => {
  // Pixels of lane `lane` (of `lanes`) of the timeline for which test(r, g, b) holds.
  const canvas = document.querySelector('#timeline');
  const scale = canvas.height / canvas.clientHeight;
  const gap = 6;
  const laneH = (canvas.clientHeight - gap * (lanes + 1)) / lanes;
  const top = Math.ceil((gap + lane * (laneH + gap)) * scale);
  const height = Math.floor(laneH * scale);
  const left = Math.ceil(24 * scale);  // right of the lanes' names
  const data = canvas.getContext('2d').getImageData(left, top, canvas.width - left, height).data;
  const keep = new Function('r', 'g', 'b', `return ${test};`);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (keep(data[i], data[i + 1], data[i + 2])) n += 1;
  return n;
}"""
r, g, b = MODEL_RGB
MODEL_POINT = f"Math.abs(r - {r}) < 24 && Math.abs(g - {g}) < 24 && Math.abs(b - {b}) < 24"
ORANGE_TINT = "r > b + 2"  # the model's colour, however faint, over the bluish-dark lane


def model_events(now: float, moved: bool) -> list[dict[str, Any]]:
    """Forty model events over the last 3..1 s: c1 moves in every one, c2 only in the first
    (then it holds 0.7), c3 in every tenth. Without ``moved`` the events do not say (dense)."""
    events = []
    for k in range(40):
        values = [0.1 + 0.02 * k, 0.7, 0.3 + 0.04 * (k // 10)]
        event: dict[str, Any] = {"prediction": values, "t": now - 3.0 + 0.05 * k, "dt": 0.05}
        if moved:
            event["moved"] = [0, 1, 2] if k == 0 else [0, 2] if k % 10 == 0 else [0]
        events.append(event)
    return events


@contextmanager
def page_of(browser: Any, engine: Any) -> Iterator[Any]:
    """A 1280 x 800 page on the scripted engine's dashboard; it raised no error when it closes."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(engine.url)
        yield page
    finally:
        page.close()
    assert errors == [], errors


def lane_counts(browser: Any, moved: bool) -> tuple[list[int], list[int]]:
    """Model-coloured points and orange-tinted pixels in each of the three lanes."""
    now = time.monotonic()
    script = [hello(), state(now), *model_events(now, moved)]
    with scripted_engine(script) as engine, page_of(browser, engine) as page:
        page.wait_for_function("window.foretell.counts.model === 40")
        next_frames(page)
        points = [page.evaluate(LANE_PIXELS, [i, 3, MODEL_POINT]) for i in range(3)]
        tinted = [page.evaluate(LANE_PIXELS, [i, 3, ORANGE_TINT]) for i in range(3)]
    return points, tinted


def test_a_held_control_is_a_faint_line_and_a_moved_one_a_point(browser: Any) -> None:
    points, tinted = lane_counts(browser, moved=True)
    # one model point: a 5 x 5 px square at DPR 1, about 18 px of its full colour
    assert points[0] > 40 * 12, points  # c1 moved in all forty
    assert points[1] < 2 * 25, points  # c2 only in the first
    assert 4 * 8 < points[2] < 4 * 40, points  # c3 in four
    assert tinted[1] > 100, tinted  # c2's held value still drawn, as a faint line


def test_events_that_do_not_say_what_moved_move_every_control(browser: Any) -> None:
    points, _ = lane_counts(browser, moved=False)
    assert all(n > 40 * 12 for n in points), points


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
    with scripted_engine(script) as engine, page_of(browser, engine) as page:
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
