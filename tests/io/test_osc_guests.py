"""A stranger's OSC input from a second host (a network namespace), against a real engine on
0.0.0.0: played and logged as a guest's, never amplified (one bundle of 128 inputs is not 128 log
rows), held to a rate per host, and no flood of it costs the performer an input."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from foretell.config import InteractionConfig, LogConfig, ModelConfig, OscConfig, RunConfig
from foretell.data.log import read_log
from foretell.io.osc_codec import encode_floats
from foretell.io.rate_limit import BUNDLE_INPUTS, GUEST_INPUT_BURST, GUEST_INPUT_RATE
from foretell.model.random import random_model_file
from foretell.perform.session import EngineHandle, start_engine
from tests.netns import Stranger
from tests.osc_peers import free_udp_port, wait_for

GUEST_VALUES = [0.9, 0.9, 0.9]


def bundle(messages: list[bytes]) -> bytes:
    """An OSC bundle (time tag "now") holding ``messages``."""
    parts = [struct.pack(">i", len(m)) + m for m in messages]
    return b"#bundle\0" + struct.pack(">Q", 1) + b"".join(parts)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineHandle]:
    """A real engine in listen mode (answers nothing), its OSC input open to the LAN."""
    random_model_file(tmp_path / "m.ftm", dimension=4, units=8, seed=0)
    config = RunConfig(
        model=ModelConfig(file=tmp_path / "m.ftm", seed=0),
        interaction=InteractionConfig(mode="listen"),
        osc=OscConfig(listen_host="0.0.0.0", listen_port=free_udp_port(), send_port=9),
        log=LogConfig(dir=tmp_path / "logs", predictions=False),
    )
    with start_engine(config) as handle:
        yield handle


def _rows(engine: EngineHandle) -> dict[str, int]:
    """The log's rows by source, once the engine has stopped (so every row is written)."""
    path = engine.snapshot().instruments[0].log_path
    engine.stop()
    assert path is not None
    rows = read_log(path).rows
    return {kind: sum(r.source == kind for r in rows) for kind in ("user", "guest")}


def _port(engine: EngineHandle) -> int:
    return int(engine.osc_address[1])


def test_one_bundle_of_128_inputs_is_not_128_log_rows(
    engine: EngineHandle, stranger: Stranger
) -> None:
    with stranger.socket() as sock:
        sock.sendto(
            bundle([encode_floats("/interface", GUEST_VALUES)] * 128),
            (stranger.gateway, _port(engine)),
        )
    limited = wait_for(lambda: engine.snapshot().instruments[0].rejected.get("rate_limited"))
    assert limited == 128 - BUNDLE_INPUTS
    assert _rows(engine) == {"user": 0, "guest": BUNDLE_INPUTS}


def test_a_guest_is_held_to_its_rate_and_logged_as_a_guest(
    engine: EngineHandle, stranger: Stranger
) -> None:
    started = time.monotonic()
    with stranger.socket() as sock:
        for _ in range(2000):
            sock.sendto(
                encode_floats("/interface", GUEST_VALUES), (stranger.gateway, _port(engine))
            )
    seconds = time.monotonic() - started
    wait_for(
        lambda: (
            engine.snapshot().instruments[0].inputs
            + engine.snapshot().instruments[0].rejected.get("rate_limited", 0)
            >= 2000
        ),
        what="every datagram counted",
    )
    rows = _rows(engine)
    assert rows["user"] == 0
    assert rows["guest"] <= GUEST_INPUT_BURST + GUEST_INPUT_RATE * (seconds + 0.5)


FLOOD = """
import socket, struct, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
msg = b"/interface\\0\\0,fff\\0\\0\\0\\0" + struct.pack(">fff", 0.9, 0.9, 0.9)
parts = b"".join(struct.pack(">i", len(msg)) + msg for _ in range(128))
data = b"#bundle\\0" + struct.pack(">Q", 1) + parts
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setblocking(False)
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        sock.sendto(data, (host, port))
    except BlockingIOError:
        pass
"""


def test_a_stranger_flood_costs_the_performer_no_input(
    engine: EngineHandle, stranger: Stranger
) -> None:
    flood = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            stranger.name,
            sys.executable,
            "-c",
            FLOOD,
            stranger.gateway,
            str(_port(engine)),
            "8",
        ],
    )
    try:
        wait_for(
            lambda: engine.snapshot().instruments[0].rejected.get("rate_limited"), what="the flood"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mine:
            for i in range(1000):
                mine.sendto(
                    encode_floats("/interface", [0.1, 0.2, (i % 100) / 100]),
                    ("127.0.0.1", _port(engine)),
                )
                time.sleep(0.002)
    finally:
        flood.kill()
        flood.wait()
    assert _rows(engine)["user"] == 1000
