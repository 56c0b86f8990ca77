"""The page on every screen, in real Chromium: laptops at any scaling, Retina, tablets, phones.

At device pixel ratios 1, 1.25, 2 and 3 and at 1280x800, 1920x1080, 768x1024 and 390x844 (a
phone, touch; each size at two densities, 1280x800 at 1, 2 and 3 again after a resize): the page
is never wider than the window, no element sticks out of it, every canvas's backing store is its
CSS box x DPR and stays so for 5 s; a resize (and a DPR change, a window moved between screens)
is followed at once; a touch drag on a phone plays into the engine's log, a second finger sets
the third control.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from foretell.data.log import read_log
from tests.dashboard.conftest import Live
from tests.dashboard.test_browser import next_frames, wait_for

DPRS = (1, 1.25, 2, 3)
STABLE_FOR = 5.0  # seconds the canvases must keep their size

MEASURE = """() => {
  const width = innerWidth;
  const outside = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > width + 1 || r.left < -1) {
      const span = `${Math.round(r.left)}..${Math.round(r.right)}`;
      outside.push(`${el.tagName}#${el.id}.${el.className} ${span}`);
    }
  }
  const canvases = [...document.querySelectorAll('canvas')]
    .filter((c) => c.getClientRects().length > 0)
    .map((c) => {
      const r = c.getBoundingClientRect();
      return { name: c.id || c.getAttribute('aria-label'), w: c.width, h: c.height,
               cssW: r.width, cssH: r.height };
    });
  const nested = [...document.querySelectorAll('body *')].filter((e) => {
    const s = getComputedStyle(e);
    return /(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1;
  }).map((e) => `${e.tagName}#${e.id}.${e.className}`);
  return { width, dpr: devicePixelRatio, scrollWidth: document.documentElement.scrollWidth,
           outside: outside.slice(0, 6), canvases, nested };
}"""


def open_page(browser: Any, live: Live, width: int, height: int, dpr: float) -> Any:
    touch = width <= 600
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=dpr,
        has_touch=touch,
        is_mobile=touch,
    )
    page = context.new_page()
    page.goto(live.url)
    return page


def problems(m: dict[str, Any], where: str) -> list[str]:
    """What is wrong with one measurement: too wide, sticking out, a canvas not box x DPR."""
    found = []
    if m["scrollWidth"] > m["width"]:
        found.append(f"{where}: page {m['scrollWidth']} px wide in a {m['width']} px window")
    found += [f"{where}: outside the window: {o}" for o in m["outside"]]
    if not m["canvases"]:
        found.append(f"{where}: no canvas shown")
    for c in m["canvases"]:
        want_w, want_h = round(c["cssW"] * m["dpr"]), round(c["cssH"] * m["dpr"])
        if abs(c["w"] - want_w) > 1 or abs(c["h"] - want_h) > 1:
            found.append(
                f"{where}: {c['name']} stores {c['w']}x{c['h']}, box x DPR {want_w}x{want_h}"
            )
        if c["cssW"] < 40 or c["cssH"] < 40:
            found.append(f"{where}: {c['name']} crushed to {c['cssW']:.0f}x{c['cssH']:.0f}")
    return found


def sizes(m: dict[str, Any]) -> list[tuple[str, int, int, float, float]]:
    return [(c["name"], c["w"], c["h"], c["cssW"], c["cssH"]) for c in m["canvases"]]


# Every size and every density, two groups of four at a time (software rendering on two shared
# cores: sixteen pages drawing at once would take longer than the groups one after the other).
GROUPS = {
    "laptop-desktop": ((1280, 800, 1), (1280, 800, 1.25), (1920, 1080, 1), (1920, 1080, 2)),
    "tablet-phone": ((768, 1024, 1), (768, 1024, 2), (390, 844, 2), (390, 844, 3)),
}


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_size_and_density_fits_the_window_and_holds_still(
    live: Live, browser: Any, group: str
) -> None:
    """Each must fit the window and keep its canvases' size for 5 s."""
    pages = {key: open_page(browser, live, *key) for key in GROUPS[group]}
    try:
        for page in pages.values():
            page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
        for page in pages.values():
            next_frames(page)
        first = {key: page.evaluate(MEASURE) for key, page in pages.items()}
        time.sleep(STABLE_FOR)
        later = {key: page.evaluate(MEASURE) for key, page in pages.items()}
        found: list[str] = []
        for key in pages:
            width, height, dpr = key
            where = f"{width}x{height} @{dpr}"
            found += problems(first[key], where) + problems(later[key], f"{where} +5 s")
            if sizes(first[key]) != sizes(later[key]):
                found.append(
                    f"{where}: canvases changed: {sizes(first[key])} -> {sizes(later[key])}"
                )
            if width <= 900 and later[key]["nested"]:  # one column: only the page scrolls
                found.append(f"{where}: scrolls inside {later[key]['nested']}")
        assert found == [], "\n".join(found)
    finally:
        for page in pages.values():
            page.context.close()


def test_resize_and_a_new_density_are_followed(live: Live, browser: Any) -> None:
    page = open_page(browser, live, 1920, 1080, 2)
    try:
        page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
        next_frames(page)
        big = page.evaluate(MEASURE)
        assert problems(big, "1920x1080 @2") == []
        page.set_viewport_size({"width": 1280, "height": 800})
        wait_for(lambda: page.evaluate("innerWidth") == 1280, what="the window's new size")
        next_frames(page)
        small = page.evaluate(MEASURE)
        assert problems(small, "resized to 1280x800 @2") == []
        xy_before = next(c for c in big["canvases"] if c["name"] == "xy")
        xy_after = next(c for c in small["canvases"] if c["name"] == "xy")
        assert xy_after["cssW"] < xy_before["cssW"] and xy_after["cssW"] > 200, (
            xy_before,
            xy_after,
        )

        # the window moved to a screen of another density: DPR 2 -> 1 -> 3, same CSS size
        cdp = page.context.new_cdp_session(page)
        for dpr in (1, 3):
            cdp.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": 1280, "height": 800, "deviceScaleFactor": dpr, "mobile": False},
            )
            wait_for(lambda d=dpr: page.evaluate("devicePixelRatio") == d, what=f"DPR {dpr}")
            next_frames(page)
            moved = page.evaluate(MEASURE)
            assert problems(moved, f"1280x800 now @{dpr}") == []
            xy = next(c for c in moved["canvases"] if c["name"] == "xy")
            assert abs(xy["w"] - round(xy["cssW"] * dpr)) <= 1, (dpr, xy)
    finally:
        page.context.close()


def touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    """One touch event through Chromium's input pipeline (as a finger on glass makes it)."""
    touch_points = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})


def test_a_phone_plays_by_touch_into_the_log(live: Live, browser: Any, tmp_path: Path) -> None:
    page = open_page(browser, live, 390, 844, 3)
    try:
        page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
        # the pad first, the width of the screen; then mode, then the sampling sliders
        tops = {
            card: page.locator(f".{card}").bounding_box()
            for card in ("pad-card", "mode-card", "sampling-card", "timeline-card")
        }
        order = sorted(tops, key=lambda card: tops[card]["y"])
        assert order == ["pad-card", "mode-card", "sampling-card", "timeline-card"], tops
        assert tops["pad-card"]["width"] >= 360 and tops["pad-card"]["y"] < 160, tops
        box = page.locator("#pad").bounding_box()
        side = min(box["width"], box["height"])
        assert side >= 300, box
        left = box["x"] + (box["width"] - side) / 2
        top = box["y"] + (box["height"] - side) / 2
        cdp = page.context.new_cdp_session(page)

        # one finger: a drag across the pad plays controls 1 and 2
        touch(cdp, "touchStart", [(left + side * 0.1, top + side * 0.5)])
        for i in range(1, 25):
            touch(cdp, "touchMove", [(left + side * (0.1 + 0.8 * i / 24), top + side * 0.5)])
            time.sleep(0.02)
        touch(cdp, "touchEnd", [])
        wait_for(lambda: live.instrument().inputs >= 15, what="touch inputs in the engine")
        assert page.evaluate("window.getSelection().toString()") == "", "text got selected"

        # a second finger high on the pad sets control 3 (pressure) near the top
        finger = (left + side * 0.5, top + side * 0.5)
        touch(cdp, "touchStart", [finger])
        time.sleep(0.05)
        touch(cdp, "touchStart", [finger, (left + side * 0.9, top + side * 0.1)])
        for i in range(10):
            touch(
                cdp,
                "touchMove",
                [(finger[0] + i, finger[1]), (left + side * 0.9, top + side * 0.1)],
            )
            time.sleep(0.03)
        touch(cdp, "touchEnd", [])
        before_stop = wait_for(
            lambda: (n := live.instrument().inputs) >= 20 and n, what="the second finger's inputs"
        )
    finally:
        page.context.close()
    log_path = live.instrument().log_path
    assert log_path is not None

    def user_rows() -> list[tuple[float, ...]]:
        return [row.values for row in read_log(log_path).rows if row.source == "user"]

    wait_for(lambda: len(user_rows()) >= before_stop, what="the touches' rows in the log")
    rows = user_rows()
    xs = [values[0] for values in rows]
    assert min(xs) < 0.3 and max(xs) > 0.7, "the drag did not cross the pad"
    assert any(values[2] > 0.85 for values in rows[-8:]), "the second finger set no control 3"
