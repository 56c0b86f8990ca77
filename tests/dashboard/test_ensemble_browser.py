"""An ensemble in headless Chromium: one strip per instrument, each showing its own events and
steering its own instrument; the pad plays the instrument the page looks at.

Events reach the engine over real OSC; every "the engine obeyed" is checked on the engine."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from foretell.io.osc_codec import decode_packet
from tests.dashboard.conftest import ENSEMBLE, LiveEnsemble
from tests.dashboard.test_browser import (
    COUNT_COLOUR,
    MODEL_RGB,
    OSC_RGB,
    colour_share,
    drag_on_pad,
    read_png,
    wait_for,
)


def osc_addresses(sock: socket.socket) -> list[str]:
    """The address of every OSC message waiting on ``sock`` (drains it)."""
    found: list[str] = []
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return found
        found += [address for address, _ in decode_packet(data)]


def strip(name: str) -> str:
    return f'.strip[data-instrument="{name}"]'


def settings(live: LiveEnsemble) -> dict[str, Any]:
    return {i.name: i.settings for i in live.engine.snapshot().instruments}


def open_page(live: LiveEnsemble, browser: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url)
    page.wait_for_function("window.foretell.state !== null && window.foretell.ensemble !== null")
    return page


def test_one_strip_per_instrument_each_with_its_own_events(
    ensemble: LiveEnsemble, browser: Any, tmp_path: Path
) -> None:
    errors: list[str] = []
    page = open_page(ensemble, browser, errors)
    names = page.locator(".strip .strip-name").all_inner_texts()
    assert names == list(ENSEMBLE)
    assert page.locator(".timeline-card").is_hidden() and page.locator("#strips").is_visible()
    modes = [page.locator(f"{strip(n)} .strip-mode").input_value() for n in ENSEMBLE]
    assert modes == list(ENSEMBLE.values())
    card, value = page.locator(".pad-card").bounding_box(), page.locator("#pressure-value")
    assert value.bounding_box()["y"] + value.bounding_box()["height"] <= card["y"] + card["height"]

    # b (filter) gets real OSC input and answers; its strip draws both, a's and c's nothing
    for i in range(24):
        ensemble.send("b", [0.1 + 0.8 * (i % 6) / 5, 0.5, 0.8])
        time.sleep(0.02)
    wait_for(lambda: ensemble.instrument("b").inputs == 24, what="b's OSC inputs")
    page.wait_for_function("window.foretell.tracks.b.counts.user === 24")
    page.wait_for_function("window.foretell.tracks.b.counts.model >= 20")
    tracks = page.evaluate("window.foretell.tracks")
    assert tracks["a"]["counts"] == tracks["c"]["counts"] == {"user": 0, "model": 0}
    lanes = {name: f"{strip(name)} canvas" for name in ENSEMBLE}
    page.wait_for_function(f"({COUNT_COLOUR})([{lanes['b']!r}, {list(MODEL_RGB)}]) > 20")
    assert page.evaluate(COUNT_COLOUR, [lanes["b"], list(OSC_RGB)]) > 20, "b's inputs not drawn"
    for other in ("a", "c"):
        assert page.evaluate(COUNT_COLOUR, [lanes[other], list(OSC_RGB)]) == 0
        assert page.evaluate(COUNT_COLOUR, [lanes[other], list(MODEL_RGB)]) == 0
    page.wait_for_function(
        "document.querySelector('.strip[data-instrument=\"b\"] .strip-rates')"
        ".textContent.includes(' in')"
    )

    shot = tmp_path / "ensemble.png"
    page.screenshot(path=str(shot))
    _, _, pixels = read_png(shot)
    assert colour_share(pixels, MODEL_RGB) > 10 and colour_share(pixels, OSC_RGB) > 10
    assert errors == [], errors
    page.close()


def test_each_strip_steers_its_own_instrument_and_the_pad_plays_the_focus(
    ensemble: LiveEnsemble, browser: Any
) -> None:
    errors: list[str] = []
    page = open_page(ensemble, browser, errors)

    # a mode chosen in b's strip changes b only; in battle b plays on its own, over OSC
    page.select_option(f"{strip('b')} .strip-mode", "battle")
    wait_for(lambda: settings(ensemble)["b"].mode == "battle", what="b to switch to battle")
    assert {n: s.mode for n, s in settings(ensemble).items()} == {**ENSEMBLE, "b": "battle"}
    played: list[str] = []
    wait_for(
        lambda: len(played.__iadd__(osc_addresses(ensemble.peers["b"]))) >= 3,
        what="b to play on its own",
    )
    assert set(played) == {"/b/prediction"}
    assert osc_addresses(ensemble.peers["a"]) == osc_addresses(ensemble.peers["c"]) == []
    page.wait_for_function(
        "document.querySelector('.strip[data-instrument=\"b\"]').dataset.mode === 'battle'"
    )

    # pause and a temperature from c's strip reach c alone
    page.click(f"{strip('c')} .strip-pause")
    wait_for(lambda: settings(ensemble)["c"].paused, what="c to pause")
    page.fill(f"{strip('c')} .strip-pitemp", "0.25")
    wait_for(lambda: settings(ensemble)["c"].pi_temp == 0.25, what="c's π-temperature")
    now = settings(ensemble)
    assert not now["a"].paused and not now["b"].paused
    assert now["a"].pi_temp == now["b"].pi_temp == 1.0
    page.wait_for_function(
        "document.querySelector('.strip[data-instrument=\"c\"] .strip-pause').textContent"
        " === 'resume'"
    )

    # the pad plays the focus: a at first, then c once its name is clicked
    drag_on_pad(page, steps=12)
    wait_for(lambda: ensemble.instrument("a").inputs >= 10, what="pad inputs into a")
    page.click(f"{strip('c')} .strip-name")
    page.wait_for_function(
        "window.foretell.focus === 'c' && window.foretell.state.instrument === 'c'"
    )
    assert "focus" in (page.locator(strip("c")).get_attribute("class") or "")
    page.wait_for_function(
        "document.getElementById('mode-pill').textContent === 'c · listen · paused'"
    )
    a_inputs, b_inputs = ensemble.instrument("a").inputs, ensemble.instrument("b").inputs
    drag_on_pad(page, steps=12)
    wait_for(lambda: ensemble.instrument("c").inputs >= 10, what="pad inputs into c")
    assert ensemble.instrument("a").inputs == a_inputs
    assert ensemble.instrument("b").inputs == b_inputs == 0

    # the side panel steers the focus too
    page.click("#modes button[data-mode=filter]")
    wait_for(lambda: settings(ensemble)["c"].mode == "filter", what="c to switch to filter")
    assert settings(ensemble)["a"].mode == "listen"
    assert all(ensemble.instrument(n).rejected == {} for n in ENSEMBLE)
    assert errors == [], errors
    page.close()
