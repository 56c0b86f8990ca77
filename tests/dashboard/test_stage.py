"""What a performer reaches for on stage: panic, thru, each input's source, and the page's keys,
presets, marks and paused state (the last in real Chromium).

Panic is checked on a ``MidiSink`` over the list-backed MIDI backend (this machine has no MIDI
system; ``tests/io`` has the JACK tests), and through a real WebSocket to the dashboard. Sources
are real: an OSC datagram over UDP and the page's own pad.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from foretell.clock import FakeClock
from foretell.io.midi import MidiPorts, MidiSink
from foretell.io.midi_map import MidiEncoder, MidiMap
from foretell.io.osc_codec import encode_floats
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, Settings
from foretell.perform.listeners import Listeners
from foretell.perform.scheduler import Scheduler
from tests.dashboard.conftest import Live
from tests.dashboard.test_browser import COUNT_COLOUR, OSC_RGB, USER_RGB, drag_on_pad, wait_for
from tests.dashboard.test_server import received
from tests.io.midi_fakes import FakeBackend
from tests.perform.helpers import runtime

NOTE_MAPS = (MidiMap(0, "note"), MidiMap(1, "velocity"))


def test_panic_pauses_resets_and_ends_every_note_on_every_midi_output() -> None:
    midi = FakeBackend()
    sink = MidiSink(["Synth", "X-TOUCH MINI"], MidiEncoder(NOTE_MAPS), ports=MidiPorts(midi))
    clock = FakeClock()
    scheduler = Scheduler(clock)
    hub = Listeners()
    insts = [
        Instrument(
            name,
            Settings(mode="battle"),
            clock,
            scheduler,
            [sink],
            runtime=runtime(),
            listeners=[hub],
        )
        for name in ("a", "b")
    ]
    engine = Engine(clock, scheduler, insts, sinks=[sink], listeners=hub)
    engine.start()
    clock.advance(1.0)  # both play on their own: notes sound
    played = sum(i.snapshot().generated for i in insts)
    assert played > 2
    synth = midi.outputs["Synth 24:0"]
    assert any(m.type == "note_on" and m.velocity > 0 for m in synth.sent)
    synth.sent.clear()

    engine.panic()
    assert all(i.settings.paused for i in insts)
    assert all(i.snapshot().expected is None for i in insts)  # reset: nothing predicted yet
    for output in ("Synth 24:0", "X-TOUCH MINI 20:1"):
        sent = midi.outputs[output].sent
        all_off = {m.channel for m in sent if m.type == "control_change" and m.control == 123}
        assert all_off == set(range(16)), output
        assert any(m.type == "note_off" for m in sent), f"{output}: the sounding note not ended"
    synth.sent.clear()
    clock.advance(1.0)
    assert (
        sum(i.snapshot().generated for i in insts) == played and synth.sent == []
    )  # silent: paused
    engine.stop()


def test_the_dashboard_panics_and_tags_each_input_with_its_source(live: Live) -> None:
    from websockets.sync.client import connect

    with connect(live.url.replace("http", "ws") + "ws") as ws:
        received(ws, "state")
        ws.send(json.dumps({"interface": [0.2, 0.4, 0.6]}))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as osc:
            osc.sendto(encode_floats("/interface", [0.7, 0.5, 0.3]), live.engine.osc_address)
        events = [m for m in received(ws, "interface") if "interface" in m]
        while len(events) < 2:
            events += [m for m in received(ws, "interface") if "interface" in m]
        assert {e["from"] for e in events} == {"pad", "osc"}
        assert abs(next(e for e in events if e["from"] == "osc")["interface"][0] - 0.7) < 1e-6

        ws.send(json.dumps({"command": "thru", "args": [1]}))
        wait_for(lambda: live.settings().input_thru, what="thru on")
        ws.send(json.dumps({"command": "panic"}))
        wait_for(lambda: live.settings().paused, what="panic to pause")
    assert live.instrument().rejected == {}


def test_stage_keys_presets_marks_and_paused_in_chromium(live: Live, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url)
    page.wait_for_function("window.foretell.connected && window.foretell.state !== null")

    # pad and OSC inputs in their own colours, side by side on the timeline
    drag_on_pad(page, steps=12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as osc:
        for i in range(12):
            osc.sendto(
                encode_floats("/interface", [0.1 + 0.06 * i, 0.2, 0.3]), live.engine.osc_address
            )
            time.sleep(0.02)
    page.wait_for_function(f"({COUNT_COLOUR})(['#timeline', {list(OSC_RGB)}]) > 10")
    assert page.evaluate(COUNT_COLOUR, ["#timeline", list(USER_RGB)]) > 10

    # keys: 2 = filter, space = pause (shown as such), T = thru, ? = help
    page.keyboard.press("2")
    wait_for(lambda: live.settings().mode == "filter", what="key 2 to choose filter")
    page.keyboard.press(" ")
    wait_for(lambda: live.settings().paused, what="space to pause")
    page.wait_for_function("!document.getElementById('paused-pill').hidden")
    page.wait_for_function("document.getElementById('countdown').textContent === 'paused'")
    page.keyboard.press("t")
    wait_for(lambda: live.settings().input_thru, what="T to turn thru on")
    page.wait_for_function("document.getElementById('thru').textContent === 'thru on'")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#help").is_hidden()
    page.keyboard.press(" ")
    wait_for(lambda: not live.settings().paused, what="space to resume")

    # a changed setting is marked on the timeline
    page.wait_for_function(
        "window.foretell.marks.some((m) => m.text.includes('mode filter'))"
        " && window.foretell.marks.some((m) => m.text.includes('thru on'))"
    )

    # a preset saved under a name (kept in the browser) and recalled later
    page.fill("#pitemp", "0.3")
    page.fill("#sigmatemp", "0.2")
    wait_for(lambda: live.settings().sigma_temp == 0.2, what="σ 0.2")
    page.once("dialog", lambda dialog: dialog.accept("calm"))
    page.click("#preset-save")
    page.wait_for_function("Object.keys(window.foretell.presets).includes('calm')")
    stored = json.loads(page.evaluate("localStorage.getItem('foretell.presets')"))
    assert stored["calm"]["pi_temp"] == 0.3 and stored["calm"]["sigma_temp"] == 0.2
    page.fill("#pitemp", "1.5")
    page.fill("#sigmatemp", "1.5")
    wait_for(lambda: live.settings().pi_temp == 1.5, what="π 1.5")
    page.reload()
    page.wait_for_function("window.foretell.connected && window.foretell.state !== null")
    page.select_option("#presets", "calm")
    wait_for(
        lambda: (live.settings().pi_temp, live.settings().sigma_temp) == (0.3, 0.2),
        what="the preset's temperatures in the engine",
    )

    # panic: paused and reset, shown as paused
    page.click("#panic")
    wait_for(lambda: live.settings().paused, what="panic to pause")
    page.wait_for_function("!document.getElementById('paused-pill').hidden")
    assert errors == [], errors
    assert live.instrument().rejected == {}
    page.close()
