"""IMPSY's serial MIDI (raw bytes through a real ``socat`` pty pair) and IMPSY's WebSocket text
protocol (a real client) with IMPSY's mapping, on a running engine."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import mido
import pytest
from websockets.sync.client import connect

from foretell.config import RunConfig, override
from foretell.config.transports import MidiMap, SerialConfig, WebSocketConfig
from foretell.model.random import random_model_file
from tests.io.transport_engine import engine_with
from tests.ptys import PtyPair

MAPS = (
    MidiMap(0, "note", channel=1),
    MidiMap(1, "cc", channel=1, number=42),
    MidiMap(2, "cc", channel=1, number=43, low=0, high=13, direction="out"),
)  # dimension 4: a note, a CC both ways, a ring out of 0..13


def _config(tmp_path: Path) -> RunConfig:
    model = random_model_file(tmp_path / "m.ftm", units=16)
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")  # answers each input
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0)
    return override(config, "log", dir=tmp_path / "logs")


def _wait(condition: object, seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _read_midi(pty: PtyPair, count: int, timeout: float = 3.0) -> list[mido.Message]:
    parser = mido.Parser()
    end = time.monotonic() + timeout
    assert pty.fd is not None
    while len(parser.messages) < count and (left := end - time.monotonic()) > 0:
        if select.select([pty.fd], [], [], left)[0]:
            parser.feed(os.read(pty.fd, 4096))
    return list(parser)


def test_serial_midi_reads_and_plays_impsys_mapping(tmp_path: Path, pty: PtyPair) -> None:
    serial = SerialConfig(port=str(pty.device), baud=31250, protocol="midi", map=MAPS)
    with engine_with(_config(tmp_path), serial) as engine:
        link = engine.transports.sources[0].link  # type: ignore[attr-defined]
        assert link.connected.wait(5)
        pty.write(bytes(mido.Message("control_change", channel=0, control=42, value=127).bin()))
        pty.write(b"\x90\x40\x00")  # note-on velocity 0: a note-off for IMPSY 1.0 (#99)
        pty.write(bytes(mido.Message("note_off", channel=0, note=1).bin()))  # ignored
        pty.write(b"\x90\x40\x50")  # note 64
        out = _read_midi(pty, 3)
        _wait(lambda: link.messages == 4)  # every message parsed, the note-offs too
        assert link.received == 2  # the note-offs mapped to nothing
        _wait(lambda: engine.snapshot().instruments[0].inputs >= 2)
        assert engine.snapshot().instruments[0].inputs == 2
    assert out[0].type == "note_on" and out[0].velocity == 127 and out[0].channel == 0
    assert [m.control for m in out[1:3]] == [42, 43] and 0 <= out[2].value <= 13
    (log,) = (tmp_path / "logs").glob("*-mdrnn.log")
    rows = [line.split(",")[2:] for line in log.read_text().splitlines() if ",interface," in line]
    assert [float(v) for v in rows[0]] == pytest.approx([0.5, 1.0, 0.5], abs=1e-4)
    assert [float(v) for v in rows[1]] == pytest.approx([64 / 127, 1.0, 0.5], abs=1e-4)


def test_websocket_speaks_impsys_text_protocol(tmp_path: Path) -> None:
    websocket = WebSocketConfig(port=0, protocol="impsy", map=MAPS)
    with engine_with(_config(tmp_path), websocket) as engine:
        host, port = engine.transports.sources[0].server.address  # type: ignore[attr-defined]
        with connect(f"ws://{host}:{port}") as client:
            client.send("/channel/1/cc/42/127")
            lines = [client.recv(timeout=3) for _ in range(3)]
            client.send("/channel/1/pitch/1/1")
            error = client.recv(timeout=3)
            client.send("/channel/9/cc/42/1")  # no map on channel 9
            unmapped = client.recv(timeout=3)
        snapshot = engine.snapshot().instruments[0]
    assert snapshot.inputs == 1
    assert lines[0].startswith("/channel/1/noteon/") and lines[0].endswith("/127")
    assert lines[1].startswith("/channel/1/cc/42/") and lines[2].startswith("/channel/1/cc/43/")
    assert 0 <= int(lines[2].rsplit("/", 1)[1]) <= 13
    assert "error" in error and "IMPSY's protocol" in error
    assert "error" in unmapped and "not in the [websocket] input map" in unmapped
