"""Runners for IMPSY's conformance vectors (``spec/``): each case through the code ``foretell run
--config impsy.toml`` uses. An IMPSY config is written for the case's mapping, mapped by
``foretell.impsy.config`` and built into foretell's transports (MIDI on list-backed ports, the
WebSocket dialect's line codec), instruments (on a fake clock) and dataset reader; the runner
returns what foretell did, in the vector's own form, for the test to compare with ``expected``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np

from foretell.clock import FakeClock
from foretell.config import RunConfig, override
from foretell.data.logs_to_dataset import logs_to_performances
from foretell.events import Event
from foretell.impsy.config import impsy_to_run_config
from foretell.io.base import ListSink
from foretell.io.midi_impsy import ImpsySink, ImpsySource
from foretell.io.midi_ports import MidiPorts
from foretell.io.transports import build_transports
from foretell.io.websocket import WebSocketError
from foretell.io.websocket_impsy import ImpsyLineDecoder, ImpsyWebSocketSink
from foretell.model.fileformat import ModelFile, load_model
from foretell.model.random import random_model_file
from foretell.model.runtime import DenseModel, DenseVoice
from foretell.perform.build import build_engine
from foretell.perform.instrument import Instrument, Settings
from foretell.perform.scheduler import Scheduler
from tests.io.midi_fakes import FakeBackend, FakeOutput

SPEC = Path(__file__).parent / "spec"
VECTORS = SPEC / "vectors"
DEVICE = "X-TOUCH MINI"  # one of FakeBackend's ports, both ways
Updates = list[list[float]] | None


def vector_file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    return data


def cases(name: str) -> list[dict[str, Any]]:
    return list(vector_file(name)["cases"])


def impsy_config(case: dict[str, Any], section: str = "midi", **extra: Any) -> RunConfig:
    """The IMPSY config a case describes (its mappings on one device, both ways), mapped."""
    dimension = case.get("dimension") or 1 + len(
        case.get("input_mapping") or case.get("output_mapping") or []
    )
    data: dict[str, Any] = {"model": {"dimension": dimension}, **extra}
    inputs, outputs = case.get("input_mapping", []), case.get("output_mapping", [])
    if section == "midi":
        data["midi"] = {
            "in_device": [DEVICE],
            "out_device": [DEVICE],
            "input": {DEVICE: inputs},
            "output": {DEVICE: outputs},
        }
    else:
        data["websocket"] = {"server_ip": "127.0.0.1", "server_port": 0}
        data["websocket"].update(input=inputs, output=outputs)
    mapped = impsy_to_run_config(data)
    assert mapped.unsupported == (), mapped.unsupported
    return mapped.config


def _midi(config: RunConfig) -> tuple[ImpsySource, ImpsySink]:
    ports = MidiPorts(FakeBackend())
    controls = config.interaction.dimension - 1  # type: ignore[operator]
    parts = build_transports(config.midi, controls=controls, shared={"midi": ports})
    (source,), (sink,) = parts.sources, parts.sinks
    assert isinstance(source, ImpsySource) and isinstance(sink, ImpsySink)
    return source, sink


def _updates(updates: Sequence[tuple[int, float]], changed: bool) -> Updates:
    return [[i, v] for i, v in updates] if changed else None


def run_midi_input(case: dict[str, Any]) -> list[Updates]:
    source, _ = _midi(impsy_config(case))
    found = []
    for data in case["messages"]:
        before = source.impsy.changes
        source.take(DEVICE, mido.Message.from_bytes(data))
        source.flush()
        found.append(_updates(source.impsy.updates, source.impsy.changes > before))
    return found


def run_midi_output(case: dict[str, Any]) -> list[list[list[int]]]:
    _, sink = _midi(impsy_config(case))
    backend, name = sink.ports.midi, f"{DEVICE} 20:1"
    sink.start()
    found = []
    for step in case["steps"]:
        port = backend.outputs[name]
        if step.get("all_notes_off"):
            sink.stop()  # a disconnect: IMPSY's all-notes-off
            backend.outputs[name] = FakeOutput(name)  # the device, plugged in again
            sink.start()
        else:
            assert sink.play(step["values"])
        found.append([list(m.bytes()) for m in port.sent])
        port.sent.clear()
    sink.stop()
    return found


def _websocket(case: dict[str, Any]) -> tuple[ImpsyLineDecoder, ImpsyWebSocketSink, list[str]]:
    config = impsy_config(case, "websocket")
    controls = len(case.get("input_mapping") or case.get("output_mapping"))
    parts = build_transports(config.websocket, controls=controls)
    (sink,) = parts.sinks
    assert isinstance(sink, ImpsyWebSocketSink)
    decoder = sink.server.decode
    assert isinstance(decoder, ImpsyLineDecoder)
    sent: list[str] = []

    def broadcast(text: str) -> bool:  # the server's clients, as one list
        sent.append(text)
        return True

    sink.server.broadcast = broadcast  # type: ignore[method-assign]
    return decoder, sink, sent


def run_websocket_input(case: dict[str, Any]) -> list[Updates]:
    decoder, _, _ = _websocket(case)
    found: list[Updates] = []
    for text in case["messages"]:
        try:
            decoder(text)
        except WebSocketError:
            found.append(None)
            continue
        found.append(_updates(decoder.decoder.updates, True))
    return found


def run_websocket_output(case: dict[str, Any]) -> list[list[str]]:
    _, sink, sent = _websocket(case)
    found = []
    for values in case["steps"]:
        sent.clear()
        sink.play(values)
        found.append(list(sent))
    return found


def run_dataset(case: dict[str, Any], folder: Path) -> list[list[float]]:
    path = folder / f"conformance-{case['dimension']}d-mdrnn.log"
    path.write_text("".join(line + "\n" for line in case["log_lines"]))
    performances, _ = logs_to_performances([path])
    return [row.tolist() for performance in performances for row in performance]


# -- the interaction loop: a model whose outputs are the case's, or that records its inputs ----


@dataclass
class _Spec:
    dimension: int


class ScriptedModel:
    """A stand-in voice: samples the case's model outputs in order, records each input."""

    def __init__(self, dimension: int, outputs: Sequence[Sequence[float]] = ()) -> None:
        self.model = _Spec(dimension)
        self.outputs = [np.array(o, dtype=np.float64) for o in outputs]
        self.inputs: list[list[float]] = []

    def observe(self, event: np.ndarray) -> np.ndarray:
        self.inputs.append([float(v) for v in event])
        return np.zeros(1)

    def sample(self, raw: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        return self.outputs.pop(0) if len(self.outputs) > 1 else self.outputs[0]

    def reset(self) -> None:
        self.inputs.append([])


class RecordingRuntime(DenseVoice):
    """A real model's voice that also records each input it is fed."""

    def __init__(self, model: ModelFile) -> None:
        super().__init__(DenseModel(model))
        self.inputs: list[list[float]] = []

    def observe(self, event: np.ndarray) -> np.ndarray:
        self.inputs.append([float(v) for v in event])
        return super().observe(event)


def run_playback(case: dict[str, Any]) -> list[dict[str, Any]]:
    outputs = case["model_outputs"]
    model = ScriptedModel(len(outputs[0]), outputs)
    clock = FakeClock()
    sink = ListSink()
    sink.start()
    settings = Settings(mode="battle", timescale=case["timescale"])
    instrument = Instrument(
        "conformance",
        settings,
        clock,
        Scheduler(clock, 1.0),
        [sink],
        model,  # type: ignore[arg-type]
    )
    instrument.start()  # primes the model with a neutral event, then plays on its own
    found = []
    previous = clock.now()
    for _ in outputs:
        clock.advance(30.0 if not clock.pending() else 0.0)
        while not sink.events and clock.pending():
            clock.run_until(min(when for when, _, _ in clock._timers))
        (event,) = sink.events
        sink.events.clear()
        found.append(
            {
                "wait": event.t - previous,
                "output": list(event.values),
                "next_model_input": model.inputs[-1],
            }
        )
        previous = event.t
    instrument.stop()
    return found


def run_pipeline(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The case's timed MIDI through an IMPSY config's engine: model inputs and log rows."""
    return asyncio.run(_pipeline(case, folder))


async def _pipeline(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    model_file = random_model_file(folder / "model.ftm", dimension=case["dimension"], units=8)
    extra = {
        "log_input": True,
        "interaction": {"mode": "callresponse", "threshold": 60.0},
        "osc": {"server_ip": "127.0.0.1", "server_port": 0},
    }
    config = impsy_config(case, **extra)
    config = override(override(config, "log", dir=folder), "model", file=model_file)
    clock = FakeClock(case["start_time"])
    session = build_engine(config, clock=clock, ports=MidiPorts(FakeBackend()))
    model = RecordingRuntime(load_model(model_file))
    (instrument,) = session.engine.instruments.values()
    assert instrument.swap_runtime(model)
    session.engine.start()
    (source,) = (s for s in session.transports.sources if isinstance(s, ImpsySource))
    source.impsy.values[:] = case["initial_values"]  # IMPSY's starting vector, as the case sets it
    for event in case["events"]:
        clock.advance(event["time"] - clock.now())
        source.take(DEVICE, mido.Message.from_bytes(event["bytes"]))
        source.flush()
    session.engine.stop()
    (log_file,) = folder.glob("*-mdrnn.log")
    rows = [line.split(",") for line in log_file.read_text().splitlines()]
    log = [{"source": r[1], "values": [float(v) for v in r[2:]]} for r in rows]
    return {"model_inputs": model.inputs, "log": log}


def assert_matches(found: Any, expected: Any, tolerance: float, where: str = "") -> None:
    """Integers and strings exactly, floats within ``tolerance``, structure alike."""
    if isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), (where, found, expected)
        for i, (f, e) in enumerate(zip(found, expected, strict=True)):
            assert_matches(f, e, tolerance, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert isinstance(found, dict) and set(found) == set(expected), (where, found, expected)
        for key in expected:
            assert_matches(found[key], expected[key], tolerance, f"{where}.{key}")
    elif isinstance(expected, float):
        assert isinstance(found, float | int) and abs(found - expected) <= tolerance, (
            where,
            found,
            expected,
        )
    else:
        assert found == expected and type(found) is type(expected), (where, found, expected)


def event_of(values: Sequence[float]) -> Event:
    return Event(0.0, 0.0, tuple(values), "model")
