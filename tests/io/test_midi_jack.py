"""MIDI over real ports: a dummy JACK server (``tests/jack.py``), a performer's ports on it, and
foretell's sources and sinks opening them by name through python-rtmidi's JACK API. Every
message kind in, every kind out, thru and the feedback guard, ports and channels shared by
instruments, and a connection that goes away and comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import mido
import pytest

from foretell.config.transports import MidiMap
from foretell.events import Event
from foretell.io.midi import EchoGuard, MidiPorts, MidiSink, MidiSource
from foretell.io.midi_map import MidiDecoder, MidiEncoder, channels_heard, with_channel
from tests.io.midi_fakes import ListInbox
from tests.jack import JackServer

M = mido.Message
_names = iter(range(1_000_000))


def _unique(stem: str) -> str:
    """A port name no other test of the session used (JACK keeps clients apart by name)."""
    return f"{stem}{next(_names)}"


async def _until(condition: Any, timeout: float = 10.0) -> None:
    """Wait on the loop until ``condition()`` holds; fail after ``timeout`` s (a loaded machine
    runs the dummy JACK server's cycles late)."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"timed out after {timeout:g} s waiting for a condition"
        await asyncio.sleep(0.005)


def _enough(
    until: int | Callable[[list[mido.Message]], bool],
) -> Callable[[list[mido.Message]], bool]:
    return until if callable(until) else lambda got: len(got) >= until


async def _received(
    port: Any, until: int | Callable[[list[mido.Message]], bool], timeout: float = 10.0
) -> list[mido.Message]:
    """What reaches a recording port: ``until`` messages (or until ``until(got)`` holds), or what
    came before ``timeout`` if they never do."""
    done = _enough(until)
    got: list[mido.Message] = []
    end = time.monotonic() + timeout
    while not done(got) and time.monotonic() < end:
        got.extend(m.copy(time=0) for m in port.iter_pending())
        await asyncio.sleep(0.005)
    got.extend(m.copy(time=0) for m in port.iter_pending())
    return got


async def _played(
    jack: JackServer, maps: Sequence[MidiMap], messages: Sequence[mido.Message], **options: Any
) -> tuple[list[tuple[float, ...]], MidiSource]:
    """The values foretell reads from ``messages`` played on a performer's JACK port."""
    name = _unique("keys")
    performer = jack.output(name)
    decoder = MidiDecoder(maps, 1 + max(m.control for m in maps), initial=0.0, **options)
    source = MidiSource([name], decoder, ports=MidiPorts(api="jack"))
    inbox = ListInbox()
    source.start(inbox)
    try:
        assert jack.connected(f"{name}:{name}"), "foretell's input is not connected"
        for message in messages:
            performer.send(message)
            await asyncio.sleep(0.003)  # a player's pace: each one its own batch
        await _until(lambda: source.received == len(messages))
    finally:
        source.stop()
    return [values for values, _ in inbox.inputs], source


INPUT_CASES = {
    "cc": (
        [MidiMap(0, "cc", number=74), MidiMap(1, "cc", number=7, channel=2)],
        [
            M("control_change", control=74, value=127),
            M("control_change", channel=1, control=7, value=0),
        ],
        [(1.0, 0.0), (1.0, 0.0)],
    ),
    "cc14": (
        [MidiMap(0, "cc14", number=1)],
        [M("control_change", control=1, value=127), M("control_change", control=33, value=127)],
        [(127 * 128 / 16383,), (1.0,)],
    ),
    "notes": (
        [MidiMap(0, "note", low=36, high=84), MidiMap(1, "velocity")],
        [
            M("note_on", note=60, velocity=127),
            M("note_off", note=60, velocity=40),
            M("note_on", note=84, velocity=64),
            M("note_on", note=84, velocity=0),  # running-status style note-off
        ],
        [(0.5, 1.0), (0.5, 0.0), (1.0, 64 / 127), (1.0, 0.0)],
    ),
    "bend and pressure": (
        [MidiMap(0, "pitchwheel"), MidiMap(1, "aftertouch"), MidiMap(2, "polytouch", number=60)],
        [
            M("pitchwheel", pitch=8191),
            M("aftertouch", value=127),
            M("polytouch", note=61, value=127),  # another key: not this control
            M("polytouch", note=60, value=127),
        ],
        [(1.0, 0.0, 0.0), (1.0, 1.0, 0.0), (1.0, 1.0, 1.0)],
    ),
    "mpe member channels": (
        [MidiMap(0, "note"), MidiMap(1, "pitchwheel")],
        [
            M("note_on", channel=1, note=60, velocity=100),
            M("pitchwheel", channel=1, pitch=8191),
            M("note_on", channel=2, note=64, velocity=100),
            M("pitchwheel", channel=1, pitch=-8192),  # the older note's channel: ignored
            M("pitchwheel", channel=2, pitch=-8192),
        ],
        [(60 / 127, 0.0), (60 / 127, 1.0), (64 / 127, 1.0), (64 / 127, 0.0)],
    ),
}


@pytest.mark.parametrize("case", list(INPUT_CASES))
def test_every_message_kind_in_over_a_real_port(jack_server: JackServer, case: str) -> None:
    maps, messages, expected = INPUT_CASES[case]
    options = {"mpe": True} if case.startswith("mpe") else {}
    values, source = asyncio.run(_played(jack_server, maps, messages, **options))
    assert source.received == len(messages)
    assert values == [pytest.approx(e) for e in expected]


def test_note_off_ignored_like_impsy_over_a_real_port(jack_server: JackServer) -> None:
    messages = [M("note_on", note=127, velocity=9), M("note_off", note=1), M("note_on", note=1)]
    values, source = asyncio.run(
        _played(jack_server, [MidiMap(0, "note")], messages, note_off=False)
    )
    assert values == [(1.0,), (1 / 127,)]
    assert source.ignored == {"note_off": 1}


OUTPUT_CASES = {
    "cc and cc14": (
        [MidiMap(0, "cc", number=74, channel=3), MidiMap(1, "cc14", number=1)],
        [(1.0, 1.0)],
        [
            M("control_change", channel=2, control=74, value=127),
            M("control_change", control=1, value=127),
            M("control_change", control=33, value=127),
        ],
    ),
    "notes and velocity": (
        [MidiMap(0, "note"), MidiMap(1, "velocity")],
        [(60 / 127, 1.0), (62 / 127, 0.5), (62 / 127, 0.0)],
        [
            M("note_on", note=60, velocity=127),
            M("note_off", note=60),
            M("note_on", note=62, velocity=64),
            M("note_off", note=62),
        ],
    ),
    "bend and pressure": (
        [MidiMap(0, "pitchwheel"), MidiMap(1, "aftertouch"), MidiMap(2, "polytouch", number=60)],
        [(0.0, 1.0, 0.5)],
        [
            M("pitchwheel", pitch=-8192),
            M("aftertouch", value=127),
            M("polytouch", note=60, value=64),
        ],
    ),
}


async def _sent(
    jack: JackServer,
    maps: Sequence[MidiMap],
    events: Sequence[tuple[float, ...]],
    mpe: bool,
    until: int | Callable[[list[mido.Message]], bool],
) -> tuple[list[mido.Message], MidiSink]:
    """What a synth's JACK port receives (``until``: see ``_received``) when foretell plays
    ``events`` to it (then stops)."""
    name = _unique("synth")
    synth = jack.input(name)
    sink = MidiSink([name], MidiEncoder(maps, mpe=mpe), ports=MidiPorts(api="jack"))
    probe = MidiEncoder(maps, mpe=mpe)
    played = sum(len(probe.encode(values)) for values in events)
    sink.start()
    for values in events:
        sink.send(Event(0.0, 0.01, values, "model"))
    # through JACK before the port closes (a port closed before the cycle that would carry its
    # messages drops them: a loaded machine runs cycles late)
    got = await _received(synth, played)
    sink.stop()  # releases what still sounds
    done = _enough(until)
    return got + await _received(synth, lambda more: done(got + more)), sink


@pytest.mark.parametrize("case", list(OUTPUT_CASES))
def test_every_message_kind_out_over_a_real_port(jack_server: JackServer, case: str) -> None:
    maps, events, expected = OUTPUT_CASES[case]
    received, sink = asyncio.run(_sent(jack_server, maps, events, False, len(expected)))
    assert received == expected
    assert sink.sent == len(events)


def test_mpe_out_gives_each_note_a_member_channel_over_a_real_port(
    jack_server: JackServer,
) -> None:
    maps = [MidiMap(0, "note"), MidiMap(1, "pitchwheel")]
    events = [(60 / 127, 1.0), (62 / 127, 0.0), (64 / 127, 0.5)]
    released = lambda got: sum(m.type == "note_off" for m in got) >= 3  # noqa: E731
    received, _ = asyncio.run(_sent(jack_server, maps, events, True, released))
    notes = [m for m in received if m.type == "note_on"]
    assert [(m.note, m.channel) for m in notes] == [(60, 1), (62, 2), (64, 3)]
    bends = [m for m in received if m.type == "pitchwheel"]
    assert [(m.pitch, m.channel) for m in bends] == [(8191, 1), (-8192, 2), (0, 3)]
    offs = [m for m in received if m.type == "note_off"]
    assert {(m.note, m.channel) for m in offs} == {(60, 1), (62, 2), (64, 3)}  # all released


def test_thru_and_the_feedback_guard_over_real_ports(jack_server: JackServer) -> None:
    """A controller with motor faders (its own in and out port) echoes what it is sent; a
    synth hears the controller through foretell (thru) and the model."""

    async def scenario(guarded: bool) -> tuple[list[tuple[float, ...]], MidiSource, Any, Any]:
        knobs, synth_name = _unique("xtouch"), _unique("synth")
        knob_out, knob_in, synth = (
            jack_server.output(knobs),
            jack_server.input(knobs),
            jack_server.input(synth_name),
        )
        ports = MidiPorts(api="jack")
        maps = [MidiMap(0, "cc", number=1), MidiMap(1, "cc", number=2)]
        guard = EchoGuard(0.5) if guarded else None
        sink = MidiSink([knobs, synth_name], MidiEncoder(maps), guard, ports=ports)
        source = MidiSource([knobs], MidiDecoder(maps, 2, initial=0.0), sink, guard, ports=ports)
        inbox = ListInbox()
        sink.start()
        source.start(inbox)
        sink.send(Event(0.0, 0.1, (0.5, 1.0), "model"))  # the faders move ...
        moved = await _received(knob_in, 2)
        assert moved == [
            M("control_change", control=1, value=64),
            M("control_change", control=2, value=127),
        ]
        for message in moved:  # ... and the device sends the move back
            knob_out.send(message)
        await _until(lambda: source.received == 2)
        knob_out.send(M("control_change", control=1, value=10))  # a real move
        await _until(lambda: source.received == 3)
        heard_by_synth = await _received(synth, 3)
        # a marker the model plays after it: what the knobs get before it is what thru sent them
        sink.send(Event(0.0, 0.1, (0.25, 0.0), "model"))
        marker = M("control_change", control=2, value=0)
        got = await _received(knob_in, lambda got: marker in got)
        assert marker in got, got
        before_marker = got[: got.index(marker)]
        back_to_knobs = [m for m in before_marker if m != M("control_change", control=1, value=32)]
        source.stop()
        sink.stop()
        return [v for v, _ in inbox.inputs], source, heard_by_synth, back_to_knobs

    values, source, synth, knobs = asyncio.run(scenario(guarded=True))
    assert values == [(10 / 127, 0.0)] and list(source.ignored.values()) == [2]
    assert next(iter(source.ignored)).startswith("echo from ")  # named by device
    assert synth[-1] == M("control_change", control=1, value=10)  # thru to the synth
    assert knobs == []  # thru never goes back to the device it came from
    values, source, _, knobs = asyncio.run(scenario(guarded=False))
    assert values == [(64 / 127, 0.0), (64 / 127, 1.0), (10 / 127, 1.0)]  # echoes taken as play
    assert len(knobs) == 3 and source.ignored == {}


def test_instruments_share_ports_and_channels_over_real_ports(jack_server: JackServer) -> None:
    """Two instruments on one keyboard port (a channel each) and one output port; a third on
    every channel of two ports. Each JACK port is connected once."""
    keys, pads, synth_name = _unique("keys"), _unique("pads"), _unique("synth")
    key_out, pad_out, synth = (
        jack_server.output(keys),
        jack_server.output(pads),
        jack_server.input(synth_name),
    )

    async def scenario() -> tuple[list[ListInbox], list[mido.Message]]:
        ports = MidiPorts(api="jack")
        inboxes = [ListInbox(), ListInbox(), ListInbox()]
        parts = []
        for channel, names in ((1, [keys]), (2, [keys]), (None, [keys, pads])):
            maps = with_channel([MidiMap(0, "cc", number=1)], channel)
            heard = channels_heard(maps, channel)
            source = MidiSource(
                names, MidiDecoder(maps, 1, initial=0.0), ports=ports, channels=heard
            )
            parts.append((source, MidiSink([synth_name], MidiEncoder(maps), ports=ports)))
        for (source, sink), inbox in zip(parts, inboxes, strict=True):
            sink.start()
            source.start(inbox)
        assert len(jack_server.connected(f"{keys}:{keys}")) == 1  # opened once for three
        assert len(jack_server.connected(f"{synth_name}:{synth_name}")) == 1
        key_out.send(M("control_change", channel=0, control=1, value=127))
        key_out.send(M("control_change", channel=1, control=1, value=0))
        pad_out.send(M("control_change", channel=5, control=1, value=127))
        await _until(lambda: len(inboxes[2].inputs) == 3)
        parts[0][1].send(Event(0.0, 0.1, (1.0,), "model"))
        parts[1][1].send(Event(0.0, 0.1, (0.0,), "model"))
        played = await _received(synth, 2)
        for source, sink in parts:
            source.stop()
            sink.stop()
        return inboxes, played

    inboxes, played = asyncio.run(scenario())
    assert [sorted(v for v, _ in i.inputs) for i in inboxes] == [
        [(1.0,)],
        [(0.0,)],
        [(0.0,), (1.0,), (1.0,)],  # every channel, both ports (JACK orders ports freely)
    ]
    assert [(m.channel, m.value) for m in played] == [(0, 127), (1, 0)]


def test_a_connection_that_goes_and_comes_back(jack_server: JackServer) -> None:
    """jack_disconnect between the performer and foretell, then jack_connect: the input
    resumes after the reconnection and hears nothing of what was sent in between. (A loaded
    machine's dummy JACK server drops a client's MIDI from a cycle the client missed: each
    message that must arrive is sent again until it has, and repeats are not counted.)"""
    name = _unique("keys")
    performer = jack_server.output(name)
    ours = f"{name}:{name}"

    async def scenario() -> list[tuple[float, ...]]:
        source = MidiSource([name], MidiDecoder([MidiMap(0, "cc", number=1)], 1), ports=MidiPorts())
        inbox = ListInbox()
        source.start(inbox)
        (foretell_in,) = jack_server.connected(ours)
        await _heard(performer, M("control_change", control=1, value=127), source)
        jack_server.disconnect(ours, foretell_in)
        assert jack_server.connected(ours) == []
        performer.send(M("control_change", control=1, value=64))  # into the void
        await asyncio.sleep(0.2)
        jack_server.connect(ours, foretell_in)
        await _heard(performer, M("control_change", control=1, value=0), source)
        source.stop()
        return [v for v, _ in inbox.inputs]

    values = asyncio.run(scenario())
    assert [v for k, v in enumerate(values) if k == 0 or v != values[k - 1]] == [(1.0,), (0.0,)]


async def _heard(performer: Any, message: mido.Message, source: MidiSource) -> None:
    """Send ``message`` until ``source`` has received one more message (20 tries, 1 s each)."""
    before = source.received
    for _ in range(20):
        performer.send(message)
        end = time.monotonic() + 1.0
        while source.received == before and time.monotonic() < end:
            await asyncio.sleep(0.005)
        if source.received > before:
            return
    raise AssertionError(f"{message} never reached foretell in 20 tries")


class _Recorded:
    """rtmidi's own input object, with the calls made to it recorded in order."""

    def __init__(self, rt: Any, calls: list[str]) -> None:
        self._rt, self._calls = rt, calls

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._rt, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(name)
            return attribute(*args, **kwargs)

        return call


class _RecordingBackend:
    """The real JACK backend; each input it opens records what is called on rtmidi's object."""

    def __init__(self, backend: Any) -> None:
        self._backend, self.calls = backend, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def open_input(self, *args: Any, **kwargs: Any) -> Any:
        port = self._backend.open_input(*args, **kwargs)
        port._rt = _Recorded(port._rt, self.calls)
        return port


def test_an_input_closes_with_no_python_callback_left_on_jacks_thread(
    jack_server: JackServer,
) -> None:
    """JACK_GIL: a close waits for JACK's thread, which must then never need the GIL. mido's own
    close registers its callback wrapper again just before it closes the port; foretell's does
    not, and still hears everything up to the close."""
    name = _unique("keys")
    performer = jack_server.output(name)
    backend = _RecordingBackend(jack_server.backend())

    async def scenario() -> tuple[list[tuple[float, ...]], MidiSource]:
        decoder = MidiDecoder([MidiMap(0, "cc", number=1)], 1, initial=0.0)
        source = MidiSource([name], decoder, ports=MidiPorts(backend))
        inbox = ListInbox()
        source.start(inbox)
        for value in (0, 64, 127):
            performer.send(M("control_change", control=1, value=value))
        await _until(lambda: len(inbox.inputs) == 3)
        source.stop()
        return [v for v, _ in inbox.inputs], source

    values, _ = asyncio.run(scenario())
    assert values == [(0.0,), (64 / 127,), (1.0,)]
    assert backend.calls.count("close_port") == 1  # closed once (not again by mido)
    last_set = max((i for i, c in enumerate(backend.calls) if c == "set_callback"), default=-1)
    last_cancel = max(i for i, c in enumerate(backend.calls) if c == "cancel_callback")
    assert last_set < last_cancel < backend.calls.index("close_port")  # no callback at close
