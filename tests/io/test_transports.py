"""Building transports from config: the example files, the run switches, attaching to an engine."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from websockets.sync.client import connect

from foretell.cli.io_commands import apply_transport_flags
from foretell.config import RunConfig, load_config, override
from foretell.errors import ConfigError
from foretell.io.midi import MidiSink, MidiSource
from foretell.io.serial import SerialSink, SerialSource
from foretell.io.transports import build_transports
from foretell.io.websocket import WebSocketSink, WebSocketSource
from foretell.model.random import random_model_file
from foretell.perform.session import start_engine

EXAMPLES = Path(__file__).parents[2] / "examples" / "configs"
TRANSPORT_EXAMPLES = sorted(
    p for p in EXAMPLES.glob("*.toml") if p.name.startswith(("midi-", "serial-", "websocket-"))
)


def test_there_is_an_example_per_transport() -> None:
    names = {p.name.split("-")[0] for p in TRANSPORT_EXAMPLES}
    assert names == {"midi", "serial", "websocket"}


@pytest.mark.parametrize("path", TRANSPORT_EXAMPLES, ids=lambda p: p.name)
def test_examples_load_and_build(path: Path) -> None:
    config = load_config(path)
    built = build_transports(config.midi, config.serial, config.websocket, controls=3)
    kinds = {type(part) for part in [*built.sources, *built.sinks]}
    if config.midi.enabled:
        assert kinds == {MidiSource, MidiSink}
    if config.serial.enabled:
        assert kinds == {SerialSource, SerialSink}
    if config.websocket.enabled:
        assert kinds == {WebSocketSource, WebSocketSink} and len(built.listeners) == 1


def test_nothing_is_built_by_default_and_midi_needs_a_size() -> None:
    config = RunConfig()
    built = build_transports(config.midi, config.serial, config.websocket)
    assert not built.sources and not built.sinks
    with pytest.raises(ConfigError, match=r"\[\[midi.map\]\]"):
        build_transports(override(config, "midi", inputs=("x",)).midi)


def test_run_switches() -> None:
    config = apply_transport_flags(
        RunConfig(), {"ws": "0.0.0.0:9000", "serial": "/dev/ttyUSB0:9600", "midi_in": ("a",)}
    )
    assert (config.websocket.host, config.websocket.port) == ("0.0.0.0", 9000)
    assert (config.serial.port, config.serial.baud) == ("/dev/ttyUSB0", 9600)
    assert config.midi.inputs == ("a",) and config.midi.outputs == ()
    config = apply_transport_flags(
        config, {"ws": "9001", "serial": "COM3", "midi_out": ("b", "virtual:c")}
    )
    assert (config.websocket.host, config.websocket.port) == ("0.0.0.0", 9001)
    assert (config.serial.port, config.serial.baud) == ("COM3", 9600)
    assert config.midi.inputs == ("a",) and config.midi.outputs == ("b", "virtual:c")
    with pytest.raises(ConfigError, match="--ws"):
        apply_transport_flags(config, {"ws": "web"})


def test_the_websocket_example_works_beside_osc(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", units=16)
    config = load_config(EXAMPLES / "websocket-browser.toml")
    config = dataclasses.replace(config, websocket=dataclasses.replace(config.websocket, port=0))
    config = override(config, "model", file=model, seed=0)
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0)
    config = override(config, "log", enabled=False)
    with start_engine(config) as engine:
        server = engine.transports.sources[0].server  # type: ignore[attr-defined]
        port = engine.call(lambda: server.address)[1]
        with connect(f"ws://127.0.0.1:{port}") as client:
            client.send(json.dumps({"interface": [0.2, 0.4, 0.6]}))
            assert "interface" in json.loads(client.recv(2))
            assert len(json.loads(client.recv(2))["prediction"]) == 3
        assert engine.call(engine.transports.describe) == [f"WebSocket on ws://127.0.0.1:{port}"]


def test_every_transport_switch_is_an_option_of_run_and_studio() -> None:
    from foretell.cli.run_commands import run
    from foretell.cli.studio_commands import studio
    from foretell.config.transports import TRANSPORT_FLAGS, TRANSPORTS

    assert {flag.option for flag in TRANSPORT_FLAGS} == {
        "--ws",
        "--serial",
        "--midi-in",
        "--midi-out",
        "--midi-api",
    }
    for command in (run, studio):
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {flag.option for flag in TRANSPORT_FLAGS} <= options
    for kind in TRANSPORTS.values():  # no switch given: the section stays as it was
        assert not any(v is not None for v in kind.from_flags({}).values())
