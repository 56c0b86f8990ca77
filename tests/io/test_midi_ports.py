"""MIDI ports over a list-backed mido backend (batches and timing a real port cannot pin down),
and what happens without a MIDI system. Real ports: ``test_midi_jack.py``."""

from __future__ import annotations

import asyncio
import os

import mido
import pytest

from foretell.config.transports import MidiMap
from foretell.events import Event
from foretell.io.midi import (
    EchoGuard,
    MidiError,
    MidiPorts,
    MidiSink,
    MidiSource,
    device_of,
    resolve,
)
from foretell.io.midi_map import MidiDecoder, MidiEncoder, default_maps
from tests.io.midi_fakes import FakeBackend, ListInbox

M = mido.Message


def test_port_names_resolve_by_unique_part() -> None:
    names = ["X-TOUCH MINI 20:0", "Launchpad 28:0", "Launchpad Pro 32:0"]
    assert resolve("x-touch", names, "input") == "X-TOUCH MINI 20:0"
    assert resolve("Launchpad 28:0", names, "input") == "Launchpad 28:0"
    with pytest.raises(MidiError, match=r"MIDI input 'nanoKEY2' not found \(available: 'X-TOUCH"):
        resolve("nanoKEY2", names, "input")
    with pytest.raises(MidiError, match="ambiguous"):
        resolve("launchpad", names, "input")
    assert device_of("X-TOUCH MINI 20:0") == device_of("X-TOUCH MINI 20:1") == "x-touch mini"


def test_a_missing_port_lists_the_available_ones() -> None:
    async def scenario() -> None:
        source = MidiSource(["nanoKEY2"], MidiDecoder(default_maps(2), 2), midi=FakeBackend())
        with pytest.raises(MidiError, match="available: 'X-TOUCH MINI 20:0'"):
            source.start(ListInbox())
        assert not source.started

    asyncio.run(scenario())


def _rig(thru: bool) -> tuple[FakeBackend, MidiSource, MidiSink]:
    midi = FakeBackend()
    maps = [MidiMap(0, "cc", number=1), MidiMap(1, "cc", number=2)]
    guard = EchoGuard(0.5)
    sink = MidiSink(["X-TOUCH", "Synth"], MidiEncoder(maps), guard, midi=midi)
    decoder = MidiDecoder(maps, 2, initial=0.0)
    source = MidiSource(["X-TOUCH"], decoder, sink if thru else None, guard, midi=midi)
    return midi, source, sink


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_input_from_the_backend_thread_reaches_the_loop_in_order() -> None:
    async def scenario() -> None:
        midi, source, sink = _rig(thru=False)
        inbox = ListInbox()
        sink.start()
        source.start(inbox)
        device = midi.inputs["X-TOUCH MINI 20:0"]
        device.play(
            M("control_change", control=1, value=127),
            M("clock"),
            M("control_change", control=2, value=127),
        )
        await _settle()
        assert inbox.inputs == [((1.0, 0.0), False), ((1.0, 1.0), True)]  # newest answered
        assert source.received == 3 and source.ignored == {"unmapped": 1}
        source.stop()
        sink.stop()
        device.play(M("control_change", control=1, value=0))  # after stop: harmless
        await _settle()
        assert device.closed and len(inbox.inputs) == 2

    asyncio.run(scenario())


def test_echo_guard_forgets_after_its_window() -> None:
    now = [0.0]
    guard = EchoGuard(0.05, clock=lambda: now[0])
    message = M("control_change", control=1, value=1)
    guard.sent("dev", message)
    assert guard.is_echo("dev", message) and not guard.is_echo("dev", message)  # consumed
    guard.sent("dev", message)
    now[0] = 0.1
    assert not guard.is_echo("dev", message) and not guard.is_echo("other", message)


def test_sink_releases_sounding_notes_on_stop() -> None:
    midi = FakeBackend()
    sink = MidiSink(["Synth"], MidiEncoder([MidiMap(0, "note")]), midi=midi)
    sink.start()
    sink.send(Event(0.0, 0.1, (60 / 127,), "model"))
    sink.stop()
    assert midi.outputs["Synth 24:0"].sent == [
        M("note_on", note=60, velocity=100),
        M("note_off", note=60),
    ]
    assert sink.sent == 1


# -- no MIDI system ---------------------------------------------------------------------------


def test_no_jack_server_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JACK API with no server behind it: one line, before any port is tried."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "foretell-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")

    async def scenario() -> None:
        sink = MidiSink(["anything"], MidiEncoder(default_maps(1)), ports=MidiPorts(api="jack"))
        with pytest.raises(MidiError, match=r"no JACK server is running; start one") as caught:
            sink.start()
        assert "\n" not in str(caught.value) and not sink.started

    asyncio.run(scenario())


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="this machine has an ALSA sequencer")
def test_no_alsa_sequencer_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "foretell-no-such-server")
    with pytest.raises(MidiError, match=r"no ALSA sequencer: .* no JACK server either\); MIDI"):
        MidiPorts(api="alsa").open_output("virtual:foretell")
