"""Transports that cannot open at start do not stop the show: a WebSocket address this machine
does not have (yet), a MIDI device not plugged in. One line says so, the rest plays, the part is
tried again with backoff (and opens when it can), and the stop line counts it."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import mido
import pytest

from foretell.config import RunConfig, override
from foretell.config.transports import MidiConfig, WebSocketConfig
from foretell.io.midi import MidiPorts
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.perform.session import start_engine
from tests.io.midi_fakes import FakeBackend, FakeInput, FakeOutput

NOT_HERE = "192.0.2.81"  # TEST-NET-1: never an address of this machine


def _config(tmp_path: Path) -> RunConfig:
    model = random_model_file(tmp_path / "m.ftm", units=16)
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")
    return override(config, "osc", listen_host="127.0.0.1", listen_port=0)


def _until(condition: object, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_a_websocket_address_not_on_this_machine_does_not_stop_the_show(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    websocket = WebSocketConfig(host=NOT_HERE, port=5001)
    config = _config(tmp_path)
    with (
        caplog.at_level(logging.WARNING),
        start_engine(override(config, "websocket", host=NOT_HERE, port=5001)) as engine,
    ):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as player:
            player.sendto(encode_floats("/interface", [0.25, 0.5, 0.75]), engine.osc_address)
            assert _until(lambda: engine.snapshot().instruments[0].inputs == 1)
        counts = engine.transports.counters()
        described = engine.transports.describe()
    assert websocket.enabled
    assert f"WebSocket on ws://{NOT_HERE}:5001 (not open yet: trying again)" in described
    lines = [r.getMessage() for r in caplog.records if "playing without it" in r.getMessage()]
    assert len(lines) == 1, lines  # one line for the server (its source and sink)
    assert NOT_HERE in lines[0] and "\n" not in lines[0]
    assert any(k.startswith("WebSocket") and "not opened" in k for k in counts), counts


def test_a_midi_device_plugged_in_after_the_start_is_opened_and_heard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = FakeBackend()
    midi = MidiConfig(inputs=("nanoKEY2",), outputs=("nanoKEY2",), feedback_guard=False)
    with (
        caplog.at_level(logging.WARNING),
        start_engine(
            override(_config(tmp_path), "midi", **vars(midi)), MidiPorts(backend)
        ) as engine,
    ):
        source, sink = engine.transports.sources[0], engine.transports.sinks[0]
        assert not source.started and not sink.started
        backend.inputs["nanoKEY2 24:0"] = keys = FakeInput("nanoKEY2 24:0")
        backend.outputs["nanoKEY2 24:1"] = FakeOutput("nanoKEY2 24:1")
        assert _until(lambda: source.started and sink.started)
        keys.play(mido.Message("control_change", control=1, value=127))
        assert _until(lambda: engine.snapshot().instruments[0].inputs == 1)
        counts = engine.transports.counters()
    said = [r.getMessage() for r in caplog.records]
    assert sum("playing without it" in line for line in said) == 2  # not found: in, out
    assert sum("opened (after" in line for line in said) == 2
    assert counts["MidiSource(nanoKEY2) opened late (failed attempts)"] >= 1


def test_the_main_input_failing_to_open_still_stops_the_start(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config = override(_config(tmp_path), "osc", listen_port=port)
        with pytest.raises(Exception, match="cannot listen for OSC"):
            start_engine(config)


def test_an_ambiguous_midi_port_name_is_a_setup_mistake_that_stops_the_start(
    tmp_path: Path,
) -> None:
    """A name that matches several ports will not become right by waiting."""
    midi = MidiConfig(outputs=("2",))  # "X-TOUCH MINI 20:1" and "Synth 24:0"
    config = override(_config(tmp_path), "midi", **vars(midi))
    with pytest.raises(Exception, match="is ambiguous"):
        start_engine(config, MidiPorts(FakeBackend()))
