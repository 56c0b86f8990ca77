"""Serial: the line codec, and the real engine through a real ``socat`` pty pair (with replug)."""

from __future__ import annotations

import asyncio
import os
import select
from pathlib import Path

import pytest

from foretell.config import RunConfig, override
from foretell.config.transports import SerialConfig
from foretell.events import Event
from foretell.io.serial import (
    MAX_LINE,
    LineSplitter,
    SerialError,
    SerialLink,
    SerialSink,
    decode_line,
    encode_line,
)
from foretell.model.random import random_model_file
from foretell.perform.session import EngineHandle
from tests.io.transport_engine import engine_with
from tests.ptys import PtyPair
from tests.waiting import wait_until

# -- codec --------------------------------------------------------------------------------------


def test_decode_and_encode_lines() -> None:
    assert decode_line(b"0.25, 0.5,1\r") == [0.25, 0.5, 1.0]
    assert decode_line(b"0,512,1023", scale=1023) == pytest.approx([0.0, 512 / 1023, 1.0])
    assert encode_line([0.25, 1.0]) == b"0.2500,1.0000\n"
    assert encode_line([0.0, 0.5, 1.0], scale=1023) == b"0,512,1023\n"


@pytest.mark.parametrize("line", [b"\xff\xfe\x00", b"0.5,abc", b"0.5,,0.2", b"nan,0.5", b""])
def test_garbage_lines_are_errors(line: bytes) -> None:
    with pytest.raises(SerialError):
        decode_line(line)


def test_splitter_keeps_half_lines_and_cuts_overlong_ones() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"0.1,0.2\n0.3,") == [b"0.1,0.2"]
    assert splitter.feed(b"0.4\n\n") == [b"0.3,0.4"]
    assert splitter.feed(b"0.5") == []
    assert splitter.reset() == b"0.5"
    assert splitter.feed(b"9" * (MAX_LINE + 1)) == [] and splitter.overlong == 1
    assert splitter.feed(b"99\n0.6\n") == [b"0.6"]  # the overlong line's end is dropped too
    assert splitter.feed(b"8" * (MAX_LINE + 1) + b"\n0.7\n") == [b"0.7"]
    assert splitter.overlong == 2


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_model_file(tmp_path_factory.mktemp("model") / "m.ftm", units=16)


def _engine(model: Path, tmp_path: Path, serial: SerialConfig) -> EngineHandle:
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0)
    config = override(config, "log", dir=tmp_path / "logs")
    return engine_with(config, serial)


def _link(engine: EngineHandle) -> SerialLink:
    link: SerialLink = engine.transports.sources[0].link  # type: ignore[attr-defined]
    return link


def test_round_trip_and_bad_input_through_a_pty(model: Path, tmp_path: Path, pty: PtyPair) -> None:
    serial = SerialConfig(port=str(pty.device), reconnect=0.05)
    with _engine(model, tmp_path, serial) as engine:
        assert _link(engine).connected.wait(5)
        for i in range(5):
            pty.write(f"{i / 5},0.5,0.5\n".encode())
            [line] = pty.read_lines(1)
            values = decode_line(line)
            assert len(values) == 3 and all(0 <= v <= 1 for v in values)
        pty.write(b"\xff\xfe garbage\n0.5,0.5\n0.1,0.2,")  # garbage, wrong length, half line
        pty.write(b"0.3\n")  # the half line, finished
        assert len(pty.read_lines(1)) == 1
        pty.write(b"7" * (MAX_LINE + 10) + b"\n2,0.5,0.5\n")  # overlong, then clipped
        assert len(pty.read_lines(1)) == 1
        wait_until(lambda: engine.snapshot().instruments[0].rejected.get("malformed") == 2)
        snap = engine.snapshot().instruments[0]
    assert snap.inputs == 7 and snap.answers == 7
    assert snap.rejected == {"malformed": 2, "wrong_count": 1, "clipped": 1}


def test_integer_scaling_both_ways(model: Path, tmp_path: Path, pty: PtyPair) -> None:
    serial = SerialConfig(port=str(pty.device), scale=1023, reconnect=0.05)
    with _engine(model, tmp_path, serial) as engine:
        assert _link(engine).connected.wait(5)
        pty.write(b"0,512,1023\n")
        [line] = pty.read_lines(1)
        assert all(part.isdigit() and 0 <= int(part) <= 1023 for part in line.split(b","))
        assert engine.snapshot().instruments[0].inputs == 1


def test_unplug_and_replug_without_stopping(model: Path, tmp_path: Path, pty: PtyPair) -> None:
    serial = SerialConfig(port=str(pty.device), reconnect=0.05)
    with _engine(model, tmp_path, serial) as engine:
        link = _link(engine)
        assert link.connected.wait(5)
        pty.write(b"0.1,0.2,0.3\n")
        assert len(pty.read_lines(1)) == 1
        pty.unplug()
        wait_until(lambda: not link.connected.is_set())
        engine.call(lambda: None)  # the engine's loop still answers while the device is gone
        pty.plug()
        wait_until(link.connected.is_set)
        assert link.connections == 2
        pty.write(b"0.4,0.5,0.6\n")
        assert len(pty.read_lines(1)) == 1
        snap = engine.snapshot().instruments[0]
    assert snap.inputs == 2 and snap.answers == 2


def test_a_device_that_never_reads_does_not_block_writes(tmp_path: Path, pty: PtyPair) -> None:
    async def scenario() -> tuple[int, int]:
        sink = SerialSink(SerialLink(str(pty.device), reconnect=0.05))
        sink.start()
        await asyncio.to_thread(sink.link.connected.wait, 5)
        event = Event(0.0, 0.0, (0.5,) * 64, "model")
        for _ in range(5000):  # ~2 MB into a pty nobody reads: far more than it buffers
            sink.send(event)
        sink.stop()
        return sink.sent, sink.dropped

    sent, dropped = asyncio.run(scenario())
    assert sent > 0 and dropped > 0
    data = b""
    while select.select([pty.fd], [], [], 0.2)[0]:
        assert pty.fd is not None
        data += os.read(pty.fd, 65536)
    lines = data.split(b"\n")
    assert all(len(decode_line(line)) == 64 for line in lines[:-1])  # whole lines, never mixed
