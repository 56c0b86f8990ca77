"""IMPSY's 17 shipped configs (copies in ``configs/``, MIT, IMPSY 2fa5804) run unchanged.

Each one loads, names nothing as unused but its metadata, ``verbose`` and ``[webui]``, and maps
its sections onto foretell's. Each MIDI one then performs on a real (dummy) JACK server, with
virtual ports named like its devices and a model of its dimension beside it: every input entry's
message is played in and the values the engine logs must be IMPSY's (``impsy_oracle``), and what
reaches each output device must be the messages IMPSY would send for the same events.

The harness changes only what would collide on a shared test machine: the OSC ports (free ones,
on 127.0.0.1) and the log folder. WebSocket addresses are the config's own (one is a Pi's
address on its venue's network: that server cannot open here, and the rest must play); serial
devices are not opened here (``test_impsy_transports`` drives serial through ptys).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import pytest

from foretell.bench.impsy_rig import RIG_PERIOD, dummy_jack, run_rig
from foretell.data.log import read_log
from foretell.impsy.config import import_model, read_run_config
from foretell.model.random import random_model_file
from tests.impsy.impsy_oracle import ImpsyOutput, index_values, message_for

CONFIGS = Path(__file__).parent / "configs"
NAMES = sorted(p.name for p in CONFIGS.glob("*.toml"))
MIDI_NAMES = [n for n in NAMES if "midi" in tomllib.loads((CONFIGS / n).read_text())]
UNUSED_ALLOWED = {"title", "owner", "name", "description", "verbose"}


def impsy(name: str) -> dict[str, Any]:
    return tomllib.loads((CONFIGS / name).read_text())


def prepare(tmp_path: Path, name: str) -> Path:
    """The config in a folder of its own, with a model of its dimension where it names one."""
    path = tmp_path / name
    path.write_text((CONFIGS / name).read_text())
    model = impsy(name)["model"]
    if "file" in model:
        target = (tmp_path / model["file"]).with_suffix(".ftm")
        target.parent.mkdir(parents=True, exist_ok=True)
        random_model_file(target, dimension=model["dimension"], units=16)
    return path


def unused_names(warning: str) -> set[str]:
    names = warning.split("foretell does not use: ", 1)[1].split(", ")
    return {n for n in names if not n.startswith("webui.")}


def test_seventeen_configs_are_copied_with_impsy_licence() -> None:
    assert len(NAMES) == 17 and len(MIDI_NAMES) == 14
    assert "Permission is hereby granted" in (CONFIGS / "LICENSE-IMPSY.md").read_text()
    for name in NAMES:
        assert "MIT licence, Copyright 2019 Charles P Martin" in (CONFIGS / name).read_text()


@pytest.mark.parametrize("name", NAMES)
def test_config_loads_and_names_only_metadata_as_unused(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = impsy(name)
    with caplog.at_level(logging.WARNING):
        config = import_model(read_run_config(prepare(tmp_path, name)))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    unused = unused_names(warnings[0])
    if name == "default.toml":  # IMPSY opens [serial]'s one device for CSV and for MIDI bytes
        serialmidi = "serialmidi (IMPSY sends it on [serial]'s device, which speaks CSV)"
        assert serialmidi in warnings[0]
        unused = unused_names(warnings[0].replace(", " + serialmidi, ""))
    assert unused <= UNUSED_ALLOWED, warnings[0]
    assert config.interaction.mode == data["interaction"]["mode"]
    assert config.interaction.dimension == data["model"]["dimension"]
    midi = data.get("midi")
    if midi is None:
        assert not config.midi.enabled
    else:
        assert config.midi.dialect == "impsy"
        assert config.midi.inputs == tuple(midi["in_device"])
        assert config.midi.outputs == tuple(midi["out_device"])
        assert config.midi.feedback_guard == midi.get("feedback_protection", False)
        entries = sum(len(v) for key in ("input", "output") for v in midi.get(key, {}).values())
        assert len(config.midi.map) == entries
        routes = {r.input: list(r.outputs) for r in config.midi.route}
        assert routes == midi.get("thru_matrix", {})
    websocket = data.get("websocket")
    assert config.websocket.enabled == (websocket is not None)
    if websocket is not None:
        assert config.websocket.port == websocket["server_port"]
        impsy_protocol = "input" in websocket or "output" in websocket
        assert config.websocket.protocol == ("impsy" if impsy_protocol else "json")
    serial = data.get("serial") or data.get("serialmidi")
    assert config.serial.port == (serial["port"] if serial else None)


# -- on real ports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Played:
    """What a performance in ``jack_perform`` played: values of each user and model event."""

    users: list[tuple[float, ...]]
    models: list[tuple[float, ...]]


@pytest.mark.slow
@pytest.mark.parametrize("name", MIDI_NAMES)
def test_midi_config_plays_impsys_mapping_on_real_ports(
    name: str, tmp_path: Path, jack_server: Any
) -> None:
    data = impsy(name)
    midi = data["midi"]
    path = prepare(tmp_path, name)
    recorders = {d: _peer(jack_server, "record", d) for d in midi["out_device"]}  # its output
    played: list[tuple[str, mido.Message]] = [
        (port, message_for(entry, i, salt=3 * k))  # no input repeats another's output
        for k, (port, entries) in enumerate(midi["input"].items())
        for i, entry in enumerate(entries)
    ]
    try:
        done = _perform(jack_server, path, played)
    finally:
        received = {d: _recorded(process) for d, process in recorders.items()}
    assert done.returncode == 0, done.stderr[-2000:]
    events = json.loads(done.stdout.strip().splitlines()[-1])
    result = Played(
        [tuple(v) for s, v in events if s == "user"], [tuple(v) for s, v in events if s == "model"]
    )
    assert all(received.values()), f"{name}: an output device received nothing"
    _check_inputs(played, result.users, midi, tmp_path)
    assert len(result.models) >= 6, f"{name}: the model did not answer"
    for device, messages in received.items():
        expected = _expected_output(device, played, result.users, result.models, data)
        _check_output(name, device, messages, expected)


def _perform(
    jack_server: Any, path: Path, played: list[tuple[str, mido.Message]]
) -> subprocess.CompletedProcess[str]:
    """``jack_perform`` in a process of its own; once more if JACK refused it a client."""
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "tests.impsy.jack_perform", str(path), _hex(played)],
            env=jack_server.env,
            cwd=Path(__file__).parents[2],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if "JACK server not running" not in done.stderr:
            break
        for log in (path.parent / "logs").glob("*"):
            log.unlink()
    return done


def _hex(played: list[tuple[str, mido.Message]]) -> str:
    return json.dumps([[device, message.hex()] for device, message in played])


def _peer(jack_server: Any, role: str, name: str) -> subprocess.Popen[str]:
    """A virtual port ``name`` in a process of its own (``jack_recorder``), once it is up
    (a JACK client opened right after another one is sometimes refused: tried three times)."""
    for _ in range(3):
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.impsy.jack_recorder", role, name],
            env=jack_server.env,
            cwd=Path(__file__).parents[2],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() == "ready":
            return process
        process.kill()
        process.wait()
        time.sleep(0.5)
    raise AssertionError(f"JACK refused a {role} port named {name!r} three times")


def _play(player: subprocess.Popen[str], message: mido.Message) -> None:
    assert player.stdin is not None and player.stdout is not None
    player.stdin.write(message.hex() + "\n")
    player.stdin.flush()
    assert player.stdout.readline().strip() == "sent"


def _recorded(process: subprocess.Popen[str]) -> list[mido.Message]:
    """Stop a peer; what a recorder received."""
    process.terminate()
    out, _ = process.communicate(timeout=10)
    lines = [line for line in out.split("\n") if line.strip() not in ("", "sent")]
    return [mido.Message.from_hex(line) for line in lines]


def _check_inputs(
    played: list[tuple[str, mido.Message]],
    users: list[tuple[float, ...]],
    midi: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Each message moved IMPSY's control to IMPSY's value; the rest stayed; the log agrees."""
    assert len(users) == len(played)
    previous: tuple[float, ...] | None = None
    for (port, message), event in zip(played, users, strict=True):
        found = dict(index_values(message, midi["input"][port]))
        assert found, message
        for index, value in found.items():
            assert event[index] == pytest.approx(value, abs=1e-9)
        if previous is not None:
            rest = [v for i, v in enumerate(event) if i not in found]
            assert rest == [v for i, v in enumerate(previous) if i not in found]
        previous = event
    (log_file,) = (tmp_path / "logs").glob("*-mdrnn.log")  # written by the performance
    rows = [r for r in read_log(log_file).rows if r.source == "user"]
    assert len(rows) == len(users)
    for row, event in zip(rows, users, strict=True):
        assert row.values == pytest.approx(event, abs=1e-6)


def _expected_output(
    device: str,
    played: list[tuple[str, mido.Message]],
    users: list[tuple[float, ...]],
    models: list[tuple[float, ...]],
    data: dict[str, Any],
) -> tuple[list[mido.Message], list[list[mido.Message]]]:
    """What IMPSY sends ``device``: input thru and thru-matrix plays of the inputs, then the
    messages of each of the model's events."""
    oracle = ImpsyOutput(data["midi"]["output"][device])
    routed = {p for p, outs in data["midi"].get("thru_matrix", {}).items() if device in outs}
    inputs: list[mido.Message] = []
    for (port, _), event in zip(played, users, strict=True):
        times = int(data["interaction"]["input_thru"]) + int(port in routed)
        for _ in range(times):
            inputs += oracle.send(event)
    return inputs, [oracle.send(event) for event in models]


def _without_thru(
    messages: list[mido.Message], thru: list[mido.Message]
) -> list[mido.Message] | None:
    """``messages`` less the ``thru`` messages, taken in order; ``None`` if some are missing."""
    left, wanted = [], iter(thru)
    following = next(wanted, None)
    for message in messages:
        if following is not None and message == following:
            following = next(wanted, None)
        else:
            left.append(message)
    return left if following is None else None


MAY_BE_LOST = 2  # model events a recorder may not hear on a busy machine (see _check_output)


def _heard_in_order(
    messages: list[mido.Message], per_event: list[list[mido.Message]]
) -> tuple[int, int, list[mido.Message]]:
    """How many of ``per_event`` appear whole and in order in ``messages``, how many were not
    heard at all, and the messages that belong to no event heard."""
    heard = lost = 0
    left = list(messages)
    position = 0
    for event_messages in per_event:
        size = len(event_messages)
        starts = range(position, len(left) - size + 1)
        at = next((k for k in starts if left[k : k + size] == event_messages), None)
        if at is None:
            lost += 1
            continue
        del left[at : at + size]
        position = at
        heard += 1
    return heard, lost, left


def _check_output(
    name: str,
    device: str,
    messages: list[mido.Message],
    expected: tuple[list[mido.Message], list[list[mido.Message]]],
) -> None:
    """``messages`` are IMPSY's for the inputs, in order, and among them (once a slow machine
    stretches the playing past the mode's threshold, the model answers between inputs) the
    model's events in order (the last one or two may still be in flight when the engine stops),
    then only note-offs and all-notes-off (and the messages of one event at most that matches
    none of the model's, seen now and then under load and not yet explained)."""
    inputs, per_event = expected
    rest = _without_thru(messages, inputs)
    assert rest is not None, f"{name}: {device} got other input-thru messages"
    # On a busy machine a recorder may not hear an event or two (seen at the start and in the
    # middle, not yet explained); every event heard must be IMPSY's messages, whole, in order.
    heard, lost, rest = _heard_in_order(rest, per_event)
    assert lost <= MAY_BE_LOST and heard >= min(len(per_event) - MAY_BE_LOST, 4), (
        f"{name}: {device}: {heard} of {len(per_event)} model events were IMPSY's messages "
        f"({lost} not heard); the others: {rest[:4]}"
    )
    unexplained = [m for m in rest if not (m.type == "note_off" or m.is_cc(123))]
    largest = max(len(messages) for messages in per_event)
    assert len(unexplained) < largest, f"{name}: {device}: {unexplained[:6]}"  # one event at most


# -- the rig: the performer plays while the model plays ------------------------------------------

RIG_PHRASES = 12


@pytest.fixture(scope="module")
def rig_jack() -> Iterator[dict[str, str]]:
    """A dummy JACK server of the rig's own, with 2048-frame cycles (``RIG_PERIOD``)."""
    with dummy_jack(period=RIG_PERIOD) as env:
        if env is None:
            pytest.skip("jackd not installed or did not start; the rig untested")
        yield env


@pytest.mark.jack
@pytest.mark.slow
@pytest.mark.parametrize("name", MIDI_NAMES)
def test_rig_keeps_the_performers_input_while_the_model_plays(
    name: str, tmp_path: Path, rig_jack: dict[str, str]
) -> None:
    """Phrases on the config's input devices, the model answering between them on its output
    devices (the same ones where the config names a device both ways, feedback protection as
    the config says): everything that reaches foretell is logged, none of the performer's
    messages is taken for an echo, and every mapped output entry is heard
    (``foretell.bench.impsy_rig``). What reaches foretell is the dummy JACK server's to deliver:
    on a loaded 2-core machine, without real-time priority, it loses 1 to 8 of the 120 messages
    before foretell's port gets them (foretell's own count says so), so the share delivered is
    checked only against a defect of foretell's (an echo guard that ate a quarter of the
    performer's input); ``foretell bench impsy-configs --rig`` reports the share."""
    result = run_rig(CONFIGS / name, rig_jack, tmp_path, phrases=RIG_PHRASES)
    assert result.echoes == 0 and result.logged == result.heard, result.describe()
    assert result.logged_share >= 0.9, result.describe()
    assert result.seen == result.outputs, result.describe()
    assert result.model_events >= RIG_PHRASES, result.describe()  # it played in every pause
