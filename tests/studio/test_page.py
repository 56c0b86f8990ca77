"""The studio page in headless Chromium, played as a user plays it, against a real studio.

The whole loop: a new take, played on the dashboard's pad (inside the Perform tab) and over OSC;
a dataset; an xs model trained while its curve is drawn; an uploaded model; the trained one
performing in filter mode (its answers read off the UDP socket the studio sends to); the two
compared. Then the config editor refusing a typo (the file on disk unchanged), the takes' own
actions, and the page on a phone. Every check of "it worked" is made on what the studio did: the
files in the project folder, the API's answers, the packets it sent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from foretell.model.random import random_model_file
from tests.dashboard.test_browser import COUNT_COLOUR, next_frames
from tests.osc_peers import wait_for
from tests.studio.conftest import CONTROLS, Studio

pytestmark = pytest.mark.slow

TRAIN_RGB = (0x3D, 0xD6, 0xF5)  # the training curve
VAL_RGB = (0xFF, 0x8A, 0x3D)  # the validation curve
BACKGROUND = (0x0D, 0x12, 0x1C)

NOT_BACKGROUND = """(canvas, rgb) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1])
      + Math.abs(data[i + 2] - rgb[2]);
    if (d > 60) n += 1;
  }
  return n;
}"""


WIDER_THAN = """(right) => [...document.querySelectorAll('section:not([hidden]) *')]
  .filter((e) => e.getBoundingClientRect().right > right).map((e) => e.id || e.className)"""


# -- helpers --------------------------------------------------------------------------------------


def open_studio(browser: Any, studio: Studio, tab: str, **context: Any) -> Any:
    viewport = context.pop("viewport", {"width": 1280, "height": 800})
    page = browser.new_context(viewport=viewport, **context).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(f"{studio.url}#{tab}")
    page.wait_for_function("window.studio.online && window.studio.status !== null")
    return page


def go(page: Any, tab: str) -> None:
    """Click the tab's name in the navigation bar, as a user does."""
    page.click(f"nav a[data-tab={tab}]")
    page.wait_for_selector(f"section#{tab}:not([hidden])")


def take(studio: Studio, name: str) -> dict[str, Any]:
    return next(t for t in studio.get("/api/takes")["takes"] if t["name"] == name)


def drag_on_pad(page: Any, steps: int = 40) -> None:
    """Press on the dashboard's pad (in the Perform tab's iframe), draw a wave across, release."""
    pad = page.frame_locator("#dashboard").locator("#pad")
    pad.scroll_into_view_if_needed()  # the frame is as tall as the dashboard: the page scrolls
    box = pad.bounding_box()
    side = min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    page.mouse.move(left + side * 0.2, top + side * 0.5)
    page.mouse.down()
    for i in range(steps):
        f = i / (steps - 1)
        y = 0.5 + 0.3 * (1 if i % 8 < 4 else -1) * f
        page.mouse.move(left + side * (0.2 + 0.6 * f), top + side * y)
        time.sleep(0.025)
    page.mouse.up()


def dashboard(page: Any) -> Any:
    """The dashboard's frame inside the Perform tab."""
    return page.locator("#dashboard").element_handle().content_frame()


def step_done(page: Any, step: str) -> bool:
    return page.locator(f"#steps li[data-step={step}].done").count() == 1


def new_take(page: Any, name: str) -> None:
    page.fill("#take-name", name)
    page.click("#take-new")


# -- the loop -------------------------------------------------------------------------------------


def test_the_whole_loop_in_chromium(studio: Studio, browser: Any, tmp_path: Path) -> None:
    page = open_studio(browser, studio, "takes")
    assert page.locator("#checklist").is_visible(), "the checklist greets a first visit"
    assert page.locator("#steps li.done").count() == 0

    # a new take, named on the page: the studio records into it
    new_take(page, "warmup")
    page.wait_for_selector(".take[data-name=warmup].current .badge.rec:not([hidden])")
    assert studio.get("/api/status") is not None and take(studio, "warmup")["current"]

    # play it: the pad in the Perform tab (the dashboard in its iframe), then over OSC
    go(page, "perform")
    dashboard(page).wait_for_function("window.foretell && window.foretell.connected")
    drag_on_pad(page)
    wait_for(
        lambda: take(studio, "warmup")["events"] >= 20,
        timeout=60,
        what="the pad's events in the take",
    )
    page.wait_for_function("document.querySelector('#counts').textContent.match(/^[1-9]/)")
    studio.play(300)
    wait_for(
        lambda: take(studio, "warmup")["events"] >= 320,
        timeout=60,
        what="300 OSC events in the take",
    )
    wait_for(lambda: step_done(page, "play"), timeout=15, what="the checklist's play")
    assert step_done(page, "connect")

    # the next take closes this one; the plot shows what was played
    go(page, "takes")
    new_take(page, "second")
    page.wait_for_selector(".take[data-name=second].current")
    assert not take(studio, "warmup")["current"]
    studio.play(150, phase=1.0)
    warmup = page.locator(".take[data-name=warmup] canvas")
    page.wait_for_function(
        "name => (window.studio.plots[name] || {t: []}).t.length > 100", arg="warmup"
    )
    assert warmup.evaluate(NOT_BACKGROUND, list(BACKGROUND)) > 200, "the take's plot is empty"
    wait_for(lambda: step_done(page, "take"), timeout=60, what="the checklist's take")

    # a dataset of the first take
    go(page, "datasets")
    page.check("#dataset-takes input[value=warmup]")
    page.fill("#dataset-name", "d1")
    page.click("#dataset-build")
    page.wait_for_selector(".dataset[data-name=d1]")  # a poll may list it before the reply
    page.wait_for_function(
        "document.querySelector('#dataset-note').textContent.startsWith('built d1')",
        timeout=60000,
    )
    assert (studio.root / "datasets" / "d1.npz").is_file()
    wait_for(lambda: step_done(page, "dataset"), timeout=60, what="the checklist's dataset")

    # train xs on it: the curve is drawn while it trains, then the model is there
    go(page, "train")
    page.select_option("#train-dataset", "d1")
    page.select_option("#train-size", "xs")
    page.fill("#train-name", "m1")
    started = time.monotonic()
    page.click("#train-start")
    page.wait_for_function(
        "window.studio.job && window.studio.job.history.length >= 2", timeout=60000
    )
    page.wait_for_function(
        f"({COUNT_COLOUR})(['#loss', {list(TRAIN_RGB)}]) > 30"
        f" && ({COUNT_COLOUR})(['#loss', {list(VAL_RGB)}]) > 30",
        timeout=20000,
    )
    assert page.locator("#job-epoch").inner_text().split(" / ")[1] != "?"
    page.wait_for_function("window.studio.job.state !== 'running'", timeout=120000)
    trained_in = time.monotonic() - started
    job = page.evaluate("window.studio.job")
    assert job["state"] == "done", job
    assert job["model"] == "m1" and (studio.root / "models" / "m1.ftm").is_file()
    assert "m1" in page.locator("#job-ending .new-model").inner_text()
    assert page.locator("#job-cancel").is_hidden()
    print(f"trained xs on {take(studio, 'warmup')['events']} events in {trained_in:.1f} s")

    # the next take closes "second": the models are scored on it, a take none was trained on
    go(page, "takes")
    new_take(page, "encore")
    page.wait_for_selector(".take[data-name=encore].current")

    # a second model, uploaded: a random one of the same dimension
    go(page, "models")
    random_model_file(tmp_path / "random.ftm", dimension=CONTROLS + 1, units=16, seed=0)
    page.set_input_files("#upload-file", str(tmp_path / "random.ftm"))
    page.click("#upload")
    page.wait_for_selector(".model[data-name=random]")
    assert (studio.root / "models" / "random.ftm").is_file()
    wait_for(lambda: step_done(page, "train"), timeout=60, what="the checklist's train")

    # m1's held-out NLL on the newest take it was not trained on
    m1 = page.locator(".model[data-name=m1]")
    page.wait_for_function(
        "!document.querySelector('.model[data-name=m1] .nll').textContent.includes('computing')",
        timeout=30000,
    )
    assert "held-out NLL on second" in m1.locator(".nll").inner_text()

    # perform with m1: the mode beside Perform starts at the project's (call and response);
    # in filter mode it answers every input, over OSC, and the project remembers both
    assert m1.locator("select.perform-mode").input_value() == "callresponse"
    m1.locator("select.perform-mode").select_option("filter")
    m1.locator("button.perform").click()
    wait_for(lambda: studio.get("/api/models")["playing"] == "m1", timeout=60, what="m1 to play")
    page.wait_for_selector(".model[data-name=m1].playing .badge.playing:not([hidden])")
    page.wait_for_function(  # the header's poll may come after the list's
        "document.querySelector('#playing-pill').textContent.includes('m1')", timeout=60000
    )
    page.wait_for_function(
        "document.querySelector('#mode-pill').textContent === 'filter'", timeout=60000
    )
    config = (studio.root / "foretell.toml").read_text()
    assert 'file = "models/m1.ftm"' in config and 'mode = "filter"' in config
    go(page, "perform")
    studio.predictions()
    studio.play(60, every=0.02, phase=2.0)
    answers: list[list[float]] = []
    wait_for(
        lambda: len(answers.__iadd__(studio.predictions())) >= 54,
        timeout=60,
        what="an answer to (nearly) every input",
    )
    assert all(len(a) == CONTROLS for a in answers), answers
    wait_for(lambda: step_done(page, "perform"), timeout=60, what="the checklist's perform")

    # compare the two on the take neither was trained on: the trained one is better
    go(page, "models")
    page.select_option("#compare-a", "m1")
    page.select_option("#compare-b", "random")
    page.select_option("#compare-take", "second")
    page.click("#compare")
    page.wait_for_selector("#compare-result:not([hidden])")
    shown = page.evaluate("window.studio.compare")
    direct = studio.get("/api/compare?a=m1&b=random&take=second")
    assert shown["a"]["nll"] == pytest.approx(direct["a"]["nll"], abs=1e-3)
    assert shown["b"]["nll"] == pytest.approx(direct["b"]["nll"], abs=1e-3)
    assert direct["a"]["nll"] < direct["b"]["nll"], direct
    assert page.locator("#compare-result .side[data-side=a].better").count() == 1
    assert f"{direct['a']['nll']:.3f}" in page.locator("#compare-result").inner_text()
    assert page.errors == []


# -- the config -----------------------------------------------------------------------------------


def test_a_config_with_a_typo_is_refused_and_nothing_is_written(
    studio: Studio, browser: Any
) -> None:
    page = open_studio(browser, studio, "config")
    path = studio.root / "foretell.toml"
    before = path.read_bytes()
    page.wait_for_function("window.studio.config !== null")
    assert page.input_value("#config-text") == before.decode()

    # a typo in a key: refused with the one-line error, in sight, and the file as it was
    page.fill("#config-text", before.decode().replace("threshold = ", "treshold = "))
    page.click("#config-save")
    error = page.locator("#config-error")
    error.wait_for(state="visible")
    assert "treshold" in error.inner_text() and "nothing was written" in error.inner_text()
    assert "\n" not in error.inner_text().strip()
    assert path.read_bytes() == before

    # a valid change is written, and the page says what took effect now and what waits
    changed = before.decode().replace("threshold = 0.1", "threshold = 0.3")
    assert changed != before.decode()
    page.fill("#config-text", changed)
    page.click("#config-save")
    page.wait_for_selector("#config-note .applied")
    assert error.inner_text() == ""
    assert path.read_text() == changed
    reply = page.evaluate("window.studio.configReply")
    assert any("threshold" in key for key in reply["applied"]), reply
    assert "threshold" in page.locator("#config-note .applied").inner_text()


# -- the takes' own actions, and the checklist remembered ----------------------------------------


def test_takes_are_renamed_downloaded_and_deleted(studio: Studio, browser: Any) -> None:
    page = open_studio(browser, studio, "takes")
    new_take(page, "first")
    page.wait_for_selector(".take[data-name=first].current")
    studio.play(80)
    wait_for(
        lambda: take(studio, "first")["events"] >= 80, timeout=60, what="80 events in the take"
    )
    new_take(page, "next")
    page.wait_for_selector(".take[data-name=next].current")

    # a name that is a path is refused by the studio, said next to the button
    new_take(page, "../escape")
    page.wait_for_function("document.querySelector('#take-error').textContent.length > 0")
    assert page.locator(".take[data-name=next].current").count() == 1
    assert not (studio.root / "escape").exists() and not (studio.root.parent / "escape").exists()

    # the one being recorded cannot be renamed or deleted; another can
    current = page.locator(".take[data-name=next]")
    assert current.locator(".rename-button").is_disabled()
    assert current.locator(".delete").is_disabled()
    first = page.locator(".take[data-name=first]")
    first.locator(".rename-button").click()
    first.locator(".rename input").fill("opening")
    first.locator(".rename button[type=submit]").click()
    page.wait_for_selector(".take[data-name=opening]")
    file = studio.root / "logs" / "opening-3d-mdrnn.log"
    assert file.is_file() and not (studio.root / "logs" / "first-3d-mdrnn.log").exists()

    # download: the log file itself
    opening = page.locator(".take[data-name=opening]")
    with page.expect_download() as download:
        opening.locator("a.download").click()
    assert Path(download.value.path()).read_bytes() == file.read_bytes()

    # delete asks once more, then the file is gone
    opening.locator(".delete").click()
    assert "sure" in opening.locator(".delete").inner_text()
    assert file.is_file()
    opening.locator(".delete").click()
    page.wait_for_selector(".take[data-name=opening]", state="detached")
    assert not file.exists()

    # the checklist, dismissed, stays away on the next visit; its button brings it back
    page.click("#checklist-dismiss")
    assert page.locator("#checklist").is_hidden()
    page.reload()
    page.wait_for_function("window.studio.status !== null")
    assert page.locator("#checklist").is_hidden() and page.locator("#checklist-show").is_visible()
    assert page.evaluate("window.studio.checklist.done.connect") is True
    page.click("#checklist-show")
    assert page.locator("#checklist").is_visible()
    assert page.errors == []


# -- a phone --------------------------------------------------------------------------------------


def test_the_page_fits_a_phone(studio: Studio, browser: Any) -> None:
    studio.play(120)
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3}
    page = open_studio(browser, studio, "takes", has_touch=True, is_mobile=True, **phone)
    page.wait_for_selector(".take canvas")
    page.wait_for_function("Object.keys(window.studio.plots).length > 0")
    for tab in ("perform", "takes", "datasets", "train", "models", "config"):
        go(page, tab)
        next_frames(page, 2)  # the tab laid out and drawn
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{tab}: the page is {width} px wide on a 390 px phone"
        wide = page.evaluate(WIDER_THAN, 391)
        assert wide == [], f"{tab}: wider than the screen: {wide}"
    go(page, "takes")
    canvas = page.locator(".take canvas").first
    store = canvas.evaluate("c => [c.width, c.height, c.clientWidth, c.clientHeight]")
    assert store[0] == round(store[2] * 3) and store[1] == round(store[3] * 3), store
    assert page.errors == []


# -- the Perform tab: one scroll bar, the page's ----------------------------------------------

SCROLLING = """() => [document.documentElement, ...document.querySelectorAll('body *')]
  .filter((e) => {
    const s = getComputedStyle(e);
    const scroller = e === document.documentElement || /(auto|scroll)/.test(s.overflowY);
    return scroller && e.scrollHeight > e.clientHeight + 1;
  }).map((e) => `${e.tagName}#${e.id}.${e.className} ${e.scrollHeight}/${e.clientHeight}`)"""


@pytest.mark.parametrize(
    "screen",
    [
        {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True},
        {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1},
        {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 1},
    ],
    ids=["phone-390x844", "laptop-1280x800", "desktop-1440x900"],
)
def test_the_perform_tab_scrolls_only_the_page(
    studio: Studio, browser: Any, screen: dict[str, Any]
) -> None:
    """The dashboard's frame grows to what it shows: nothing scrolls inside it, nothing in it is
    cut off, and only the studio's page scrolls (the dashboard's pad and panel all reachable)."""
    touch = bool(screen.get("is_mobile"))
    page = open_studio(browser, studio, "perform", has_touch=touch, **screen)
    frame = dashboard(page)
    frame.wait_for_function("window.foretell && window.foretell.connected")
    studio.play(100)
    wait_for(lambda: frame.evaluate(SCROLLING) == [], timeout=60, what="nothing to scroll in")
    next_frames(frame, 10)  # 10 more frames drawn: still nothing scrolls inside
    assert frame.evaluate(SCROLLING) == []
    outside = [e for e in page.evaluate(SCROLLING) if not e.startswith("HTML")]
    assert outside == [], f"scrolls inside the studio's page: {outside}"
    shown = page.evaluate("document.querySelector('#dashboard').clientHeight")
    inner = frame.evaluate("document.documentElement.scrollHeight")
    assert shown >= inner, (shown, inner)
    lowest = frame.evaluate(
        "Math.max(...[...document.querySelectorAll('body *')]"
        ".map((e) => e.getBoundingClientRect().bottom)) - innerHeight"
    )
    assert lowest <= 1, f"the dashboard's lowest part is {lowest:.0f} px below its frame"
    assert page.errors == []


# -- train: what the page says to change, the form has ------------------------------------------


def test_more_epochs_are_asked_for_in_the_train_form(studio: Studio, browser: Any) -> None:
    """A job capped while still improving says to train with more epochs: the Train form takes
    them, and the job runs that many."""
    studio.play(300)
    studio.running.client.post("api/takes/new", {"name": "next"}, 201)
    wait_for(lambda: len(studio.get("/api/takes")["takes"]) == 2, timeout=60, what="two takes")
    first = next(t["name"] for t in studio.get("/api/takes")["takes"] if not t["current"])
    studio.running.client.post("api/datasets", {"name": "d1", "takes": [first]}, 201)
    page = open_studio(browser, studio, "train")
    page.wait_for_selector("#train-dataset option[value=d1]", state="attached")
    page.select_option("#train-dataset", "d1")
    page.select_option("#train-size", "xs")
    page.fill("#train-name", "short")
    page.fill("#train-epochs", "2")
    page.click("#train-start")
    page.wait_for_function(
        "window.studio.job && window.studio.job.state !== 'running'", timeout=120000
    )
    job = page.evaluate("window.studio.job")
    assert job["state"] == "done" and job["epochs"] == 2 and len(job["history"]) == 2, job
    ending = page.locator("#job-ending").inner_text()
    assert "more epochs (4 in the Train form's epochs)" in ending, ending
    assert page.locator("#train-epochs").is_visible()
    assert page.errors == []


def test_a_refused_perform_is_one_line_under_its_model(studio: Studio, browser: Any) -> None:
    random_model_file(studio.root / "models" / "wide.ftm", dimension=CONTROLS + 3, units=16)
    page = open_studio(browser, studio, "models")
    wide = page.locator(".model[data-name=wide]")
    wide.wait_for()
    assert wide.locator("select.perform-mode").input_value() == "callresponse"
    wide.locator("button.perform").click()
    error = wide.locator(".error")
    page.wait_for_function(
        "document.querySelector('.model[data-name=wide] .error').textContent.length > 0"
    )
    line = error.inner_text().strip()
    assert "dimension" in line and "\n" not in line, line
    assert studio.get("/api/status")["model"] is None
    assert 'file = "models/wide.ftm"' not in (studio.root / "foretell.toml").read_text()


def test_a_broken_model_says_why_and_cannot_be_performed(studio: Studio, browser: Any) -> None:
    (studio.root / "models" / "bad.ftm").write_bytes(b"FTM\x00 not a model at all")
    page = open_studio(browser, studio, "models")
    bad = page.locator(".model[data-name=bad]")
    bad.wait_for()
    line = bad.locator(".facts").inner_text().strip()
    assert line.startswith("cannot be read: ") and "undefined" not in line, line
    assert bad.locator("button.perform").is_disabled()
    assert not bad.locator("button.delete").is_disabled()
    assert page.errors == []
