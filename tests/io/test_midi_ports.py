"""MIDI ports: the transport over a list-backed mido backend, and over real virtual ports when
this machine has a MIDI system (it is skipped, saying why, where there is none)."""

from __future__ import annotations

import asyncio
import time

import mido
import pytest

from foretell.events import Event
from foretell.io.midi import (
    EchoGuard,
    MidiError,
    MidiSink,
    MidiSource,
    device_of,
    resolve,
)
from foretell.io.midi_map import MidiDecoder, MidiEncoder, default_maps
from foretell.io.transport_config import MidiMap
from tests.io.midi_fakes import NO_BACKEND, FakeBackend, ListInbox

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


def test_feedback_guard_and_thru() -> None:
    async def scenario() -> None:
        midi, source, sink = _rig(thru=True)
        inbox = ListInbox()
        sink.start()
        source.start(inbox)
        touch, synth = midi.outputs["X-TOUCH MINI 20:1"], midi.outputs["Synth 24:0"]
        sink.send(Event(0.0, 0.1, (0.5, 1.0), "model"))  # motor faders move ...
        assert (
            touch.sent
            == synth.sent
            == [
                M("control_change", control=1, value=64),
                M("control_change", control=2, value=127),
            ]
        )
        device = midi.inputs["X-TOUCH MINI 20:0"]
        device.play(*touch.sent)  # ... and the device echoes them back
        await _settle()
        assert inbox.inputs == [] and source.ignored == {"echo": 2}
        device.play(M("control_change", control=1, value=10))  # a real move
        await _settle()
        assert inbox.inputs == [((10 / 127, 0.0), True)]
        assert synth.sent[-1] == M("control_change", control=1, value=10)  # thru to the synth
        assert len(touch.sent) == 2  # never thru back to the device it came from
        source.stop()
        sink.stop()

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


# -- the real backend ---------------------------------------------------------------------------


@pytest.mark.skipif(NO_BACKEND is not None, reason=f"no MIDI system here: {NO_BACKEND}")
def test_real_virtual_ports_round_trip() -> None:
    """A virtual output that foretell's input listens to, through the real backend."""

    async def scenario() -> None:
        out = mido.open_output("foretell-test-out", virtual=True)
        try:
            await asyncio.sleep(0.2)
            inbox = ListInbox()
            source = MidiSource(["foretell-test-out"], MidiDecoder(default_maps(1), 1))
            source.start(inbox)
            out.send(M("control_change", control=1, value=127))
            end = time.monotonic() + 2
            while not inbox.inputs and time.monotonic() < end:
                await asyncio.sleep(0.01)
            source.stop()
            assert inbox.inputs == [((1.0,), True)]
        finally:
            out.close()

    asyncio.run(scenario())


@pytest.mark.skipif(NO_BACKEND is None, reason="this machine has a MIDI system")
def test_no_backend_is_one_line() -> None:
    assert NO_BACKEND is not None and "no MIDI backend is available" in NO_BACKEND
    assert "\n" not in NO_BACKEND

    async def scenario() -> None:
        sink = MidiSink(["anything"], MidiEncoder(default_maps(1)))
        with pytest.raises(MidiError, match="no MIDI backend is available"):
            sink.start()

    asyncio.run(scenario())
