"""Instruments sharing MIDI ports, a channel each: every port opened once, every message handed
to the instrument(s) of its channel, every answer played on its instrument's channel. Fake ports
(list-backed, called back from threads of their own like rtmidi); the same over real JACK ports
is in ``test_midi_jack.py``."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import mido
import pytest

from foretell.config import config_from_dict, load_config, override
from foretell.config.transports import MidiConfig, MidiMap
from foretell.errors import ConfigError
from foretell.events import Event
from foretell.io.midi import MidiError, MidiPorts, MidiSink, MidiSource
from foretell.io.midi_map import (
    MidiDecoder,
    MidiEncoder,
    channels_heard,
    default_maps,
    with_channel,
)
from foretell.model.random import random_model_file
from foretell.perform.build import build_engine
from tests.io.midi_fakes import FakeBackend, FakeInput, ListInbox
from tests.osc_peers import free_udp_port

M = mido.Message
KNOB = "X-TOUCH MINI 20:0"
SYNTH = "Synth 24:0"


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _pair(ports: MidiPorts, channel: int) -> tuple[MidiSource, MidiSink]:
    maps = with_channel(default_maps(2), channel)
    sink = MidiSink(["Synth"], MidiEncoder(maps), ports=ports)
    decoder = MidiDecoder(maps, 2, initial=0.0)
    source = MidiSource(["x-touch"], decoder, ports=ports, channels=channels_heard(maps, channel))
    return source, sink


def test_a_channel_is_given_to_the_maps_that_name_none() -> None:
    maps = (MidiMap(0, "cc", number=1), MidiMap(1, "cc", channel=9, number=2))
    assert [m.channel for m in with_channel(maps, 3)] == [3, 9]
    assert channels_heard(maps, 3) == frozenset({2, 8})  # mido counts channels from 0
    assert channels_heard(maps, None) is None and with_channel(maps, None) == maps


def test_two_instruments_share_one_port_a_channel_each() -> None:
    async def scenario() -> None:
        midi = FakeBackend()
        ports = MidiPorts(midi)
        (lead_in, lead_out), (bass_in, bass_out) = _pair(ports, 1), _pair(ports, 2)
        lead, bass = ListInbox(), ListInbox()
        for sink in (lead_out, bass_out):
            sink.start()
        lead_in.start(lead)
        bass_in.start(bass)
        assert midi.opened == {KNOB: 1, SYNTH: 1}  # one port each way, however many use it
        midi.inputs[KNOB].play(
            M("control_change", channel=0, control=1, value=127),
            M("control_change", channel=1, control=2, value=127),
            M("control_change", channel=5, control=1, value=127),  # nobody's channel
            M("clock"),  # no channel: only for instruments that hear everything
            M("control_change", channel=0, control=2, value=127),
        )
        await _settle()
        assert lead.inputs == [((1.0, 0.0), False), ((1.0, 1.0), True)]
        assert bass.inputs == [((0.0, 1.0), True)]
        assert (lead_in.received, bass_in.received) == (2, 1)
        lead_out.send(Event(0.0, 0.1, (0.0, 1.0), "model"))
        bass_out.send(Event(0.0, 0.1, (1.0, 0.0), "model"))
        assert {m.channel for m in midi.outputs[SYNTH].sent[:2]} == {0}
        assert {m.channel for m in midi.outputs[SYNTH].sent[2:]} == {1}
        lead_in.stop()
        lead_out.stop()
        assert not midi.inputs[KNOB].closed and not midi.outputs[SYNTH].closed  # bass still plays
        midi.inputs[KNOB].play(M("control_change", channel=1, control=1, value=0))
        await _settle()
        assert bass.inputs[-1] == ((0.0, 1.0), True) and len(lead.inputs) == 2
        bass_in.stop()
        bass_out.stop()
        assert midi.inputs[KNOB].closed and midi.outputs[SYNTH].closed

    asyncio.run(scenario())


def test_an_instrument_without_a_channel_hears_everything_beside_channel_ones() -> None:
    async def scenario() -> None:
        midi = FakeBackend()
        ports = MidiPorts(midi)
        lead_in, _ = _pair(ports, 1)
        omni = MidiSource(["X-TOUCH"], MidiDecoder(default_maps(2), 2, initial=0.0), ports=ports)
        lead, everything = ListInbox(), ListInbox()
        lead_in.start(lead)
        omni.start(everything)
        midi.inputs[KNOB].play(
            M("control_change", channel=0, control=1, value=127),
            M("control_change", channel=3, control=2, value=127),
            M("clock"),
        )
        await _settle()
        assert lead.inputs == [((1.0, 0.0), True)]
        assert everything.inputs == [((1.0, 0.0), False), ((1.0, 1.0), True)]
        assert omni.ignored == {"unmapped": 1} and midi.opened[KNOB] == 1
        lead_in.stop()
        omni.stop()

    asyncio.run(scenario())


def test_a_missing_port_fails_alone_and_leaves_the_shared_one_open() -> None:
    async def scenario() -> None:
        midi = FakeBackend()
        ports = MidiPorts(midi)
        good, _ = _pair(ports, 1)
        good.start(ListInbox())
        bad = MidiSource(["x-touch", "nanoKEY2"], MidiDecoder(default_maps(1), 1), ports=ports)
        with pytest.raises(MidiError, match="'nanoKEY2' not found"):
            bad.start(ListInbox())
        assert not midi.inputs[KNOB].closed  # the good one still listens
        good.stop()
        assert midi.inputs[KNOB].closed

    asyncio.run(scenario())


def _ensemble(model: Path, tmp_path: Path) -> dict[str, object]:
    return {
        "model": {"file": str(model), "seed": 0},
        "interaction": {"mode": "filter"},
        "osc": {"listen_host": "127.0.0.1", "listen_port": 0},
        "log": {"dir": str(tmp_path / "logs")},
        "instrument": {
            name: {"midi": {"inputs": ["X-TOUCH"], "outputs": ["Synth"], "channel": channel}}
            for name, channel in (("lead", 1), ("bass", 2))
        },
    }


def test_an_ensemble_config_gives_each_instrument_its_channel(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm")

    async def scenario() -> None:
        midi = FakeBackend()
        config = config_from_dict(_ensemble(model, tmp_path))
        session = build_engine(config, ports=MidiPorts(midi))
        transports = session.transports
        session.engine.start()
        try:
            assert midi.opened == {KNOB: 1, SYNTH: 1}
            assert "MIDI in X-TOUCH channel 2 (bass)" in transports.describe()
            midi.inputs[KNOB].play(M("control_change", channel=1, control=3, value=127))
            for _ in range(50):
                await asyncio.sleep(0.01)
                if midi.outputs[SYNTH].sent:
                    break
            insts = session.engine.instruments
            assert (insts["lead"].snapshot().inputs, insts["bass"].snapshot().inputs) == (0, 1)
            sent = midi.outputs[SYNTH].sent
            assert sent and {m.channel for m in sent} == {1}  # bass answers on its channel
        finally:
            session.engine.stop()
        assert midi.inputs[KNOB].closed and midi.outputs[SYNTH].closed

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"instrument": {"a": {"midi": {"inputs": ["x"], "channel": 17}}}},
            r"^instrument\.a\.midi\.channel = 17 is invalid \(expected a channel 1\.\.16\)$",
        ),
        (
            {"instrument": {"a": {"midi": {"inputs": ["x"], "channel": 2, "mpe": True}}}},
            r"^instrument\.a\.midi\.channel = 2 .*MPE uses them all",
        ),
        (
            {"instrument": {"a": {"midi": {"input": ["x"]}}}},
            r"^unknown key instrument\.a\.midi\.input \(valid keys: api, inputs,",
        ),
        (
            {"midi": {"inputs": ["x"]}, "instrument": {"a": {"midi": {"inputs": ["y"]}}}},
            r"^\[midi\] and \[instrument\.a\.midi\] both set up the first instrument's midi",
        ),
        (
            {"instrument": {n: {"serial": {"port": "/dev/ttyACM0"}} for n in "ab"}},
            r"^instruments 'a' and 'b' both use serial /dev/ttyACM0",
        ),
        (
            {"instrument": {n: {"websocket": {"port": 8766}} for n in "ab"}},
            r"^instruments 'a' and 'b' both use websocket 8766",
        ),
    ],
)
def test_transport_section_mistakes_are_one_line(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        build_engine(config_from_dict(change))  # type: ignore[arg-type]
    assert "\n" not in str(error.value)


def test_top_level_sections_are_the_first_instruments(tmp_path: Path) -> None:
    from foretell.config.sections import transport_sections

    config = config_from_dict(
        {"midi": {"inputs": ["x"]}, "instrument": {"a": {}, "b": {"midi": {"inputs": ["y"]}}}}
    )
    a, b = transport_sections(config)
    assert a.section("midi").inputs == ("x",) and b.section("midi").inputs == ("y",)
    assert not a.section("websocket").enabled and not b.section("serial").enabled
    assert MidiConfig().channel is None


def test_the_band_example_opens_each_port_once(tmp_path: Path) -> None:
    """examples/configs/ensemble-band.toml, on fake MIDI ports and free network ports."""
    model = random_model_file(tmp_path / "m.ftm")
    config = load_config(Path(__file__).parents[2] / "examples/configs/ensemble-band.toml")
    port = free_udp_port()
    instruments = tuple(
        dataclasses.replace(
            inst,
            model=model,
            listen_host="127.0.0.1",
            listen_port=port,
            websocket=inst.websocket and dataclasses.replace(inst.websocket, port=0),
        )
        for inst in config.instrument
    )
    config = dataclasses.replace(config, instrument=instruments)
    config = override(config, "log", enabled=False)

    async def scenario() -> None:
        midi = FakeBackend()
        midi.inputs["Arturia KeyStep 32 28:0"] = FakeInput("Arturia KeyStep 32 28:0")
        session = build_engine(config, ports=MidiPorts(midi))
        transports = session.transports
        session.engine.start()
        try:
            assert midi.opened == {"Arturia KeyStep 32 28:0": 1, "foretell": 1}
            assert {session.sources[n].address[1] for n in ("lead", "bass", "pad")} == {port}
            assert any(
                p.startswith("WebSocket on ws://") and "(pad)" in p for p in transports.describe()
            )
            midi.inputs["Arturia KeyStep 32 28:0"].play(
                M("note_on", channel=1, note=40, velocity=90)
            )
            for _ in range(50):
                await asyncio.sleep(0.01)
                if midi.outputs["foretell"].sent:
                    break
            insts = session.engine.instruments
            assert (insts["lead"].snapshot().inputs, insts["bass"].snapshot().inputs) == (0, 1)
            assert {m.channel for m in midi.outputs["foretell"].sent} == {1}
        finally:
            session.engine.stop()

    asyncio.run(scenario())
