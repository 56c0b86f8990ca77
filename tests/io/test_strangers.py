"""A stranger on the venue's network (a second host: a network namespace) against a real engine:
through the WebSocket transport and the dashboard's socket it may play, never steer, and no
number of its connections locks the performer's own client out."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from foretell.config import InteractionConfig, LogConfig, ModelConfig, OscConfig, RunConfig
from foretell.config.transports import WebSocketConfig
from foretell.dashboard.server import serve_dashboard
from foretell.model.random import random_model_file
from foretell.perform.session import EngineHandle, start_engine
from tests.dashboard.test_slowloris import SLOWLORIS
from tests.netns import Stranger
from tests.osc_peers import wait_for

STEERING = [  # every verb a stranger tried on the show
    ("pause", []),
    ("mode", ["filter"]),
    ("take", ["mine"]),
    ("pitemp", [0.1]),
    ("sigmatemp", [0.1]),
    ("load", ["other.ftm"]),
    ("learn", []),
    ("rollback", [1]),
]


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineHandle]:
    """A real engine in listen mode, its WebSocket transport open to the LAN (0.0.0.0)."""
    models = tmp_path / "models"
    models.mkdir()
    random_model_file(models / "random.ftm", dimension=4, units=8, seed=0)
    random_model_file(models / "other.ftm", dimension=4, units=8, seed=1)
    config = RunConfig(
        model=ModelConfig(file=models / "random.ftm", seed=0),
        interaction=InteractionConfig(mode="listen"),
        osc=OscConfig(listen_host="127.0.0.1", listen_port=0, send_port=9),
        log=LogConfig(dir=tmp_path / "logs"),
        websocket=WebSocketConfig(host="0.0.0.0", port=free_tcp_port()),
    )
    with start_engine(config) as handle:
        yield handle


def _ws_port(engine: EngineHandle) -> int:
    return int(engine.config.websocket.port or 0)


def _from(stranger: Stranger, host: str, port: int, path: str = "") -> ClientConnection:
    """A WebSocket client (no Origin: a script) whose connection comes from the stranger."""
    sock = stranger.socket(socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect((host, port))
    return connect(f"ws://{host}:{port}/{path}", sock=sock, open_timeout=5)


def _state(engine: EngineHandle) -> dict[str, Any]:
    inst = engine.snapshot().instruments[0]
    return {
        "settings": dataclasses.asdict(inst.settings),
        "model": inst.model,
        "log": inst.log_path,
        "learning": inst.learning,
    }


def test_a_stranger_cannot_steer_through_the_websocket_transport(
    engine: EngineHandle, stranger: Stranger
) -> None:
    before = _state(engine)
    with _from(stranger, stranger.gateway, _ws_port(engine)) as client:
        for verb, args in STEERING:
            client.send(json.dumps({"command": verb, "args": args}))
            answer = json.loads(client.recv(timeout=5))
            assert "refused" in answer["error"] and stranger.address in answer["error"]
        client.send(json.dumps({"interface": [0.2, 0.4, 0.6]}))  # playing stays open
        wait_for(lambda: engine.snapshot().instruments[0].inputs == 1, what="the guest's input")
    assert _state(engine) == before
    assert engine.snapshot().instruments[0].rejected["control_refused"] == len(STEERING)


def test_the_performer_still_steers_through_the_websocket_transport(
    engine: EngineHandle,
) -> None:
    with connect(f"ws://127.0.0.1:{_ws_port(engine)}", open_timeout=5) as client:
        client.send(json.dumps({"command": "mode", "args": ["filter"]}))
        wait_for(lambda: engine.snapshot().instruments[0].settings.mode == "filter")


def test_forty_stranger_connections_do_not_lock_the_performer_out(
    engine: EngineHandle, stranger: Stranger
) -> None:
    port = _ws_port(engine)
    with contextlib.ExitStack() as held:
        for _ in range(40):
            held.enter_context(_from(stranger, stranger.gateway, port))
        server = engine.transports.sources[0].server  # type: ignore[attr-defined]
        guests = wait_for(lambda: engine.call(lambda: len(server.clients)), what="the guests")
        assert guests < 32  # one host holds a few places, never all of them
        with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as mine:
            mine.send(json.dumps({"command": "pause", "args": [1]}))
            wait_for(lambda: engine.snapshot().instruments[0].settings.paused)


def test_a_stranger_with_the_token_cannot_steer_through_the_dashboard(
    engine: EngineHandle, stranger: Stranger
) -> None:
    session = engine.session
    assert session is not None
    page = engine.call(lambda: serve_dashboard(session.engine, "0.0.0.0", 0))
    try:
        port, token = page.address[1], page.token
        before = _state(engine)
        with _from(stranger, stranger.gateway, port, f"ws?token={token}") as client:
            for verb, args in [*STEERING, ("panic", [])]:
                client.send(json.dumps({"command": verb, "args": args}))
            client.send(json.dumps({"interface": [0.2, 0.4, 0.6]}))
            wait_for(lambda: engine.snapshot().instruments[0].inputs == 1, what="the pad input")
        rejected = engine.snapshot().instruments[0].rejected
        assert rejected["control_refused"] == len(STEERING) + 1
        assert _state(engine) == before
    finally:
        loop = engine.call(asyncio.get_running_loop)
        asyncio.run_coroutine_threadsafe(page.aclose(), loop).result(5)


def test_slow_strangers_cannot_use_up_the_show_s_open_files(
    engine: EngineHandle, stranger: Stranger
) -> None:
    """1,100 connections to the WebSocket port sending a handshake a byte at a time, the show
    under systemd's default 1,024 open files: the performer's client still comes in and steers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    target = [stranger.gateway, str(_ws_port(engine)), "1100", "4"]
    attack = subprocess.Popen(
        ["ip", "netns", "exec", stranger.name, sys.executable, "-c", SLOWLORIS, *target],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert attack.stdout is not None and attack.stdout.readline() == "sent\n"  # all in place
        with connect(f"ws://127.0.0.1:{_ws_port(engine)}", open_timeout=5) as mine:
            mine.send(json.dumps({"command": "mode", "args": ["filter"]}))
            wait_for(lambda: engine.snapshot().instruments[0].settings.mode == "filter")
        server = engine.transports.sources[0].server  # type: ignore[attr-defined]
        held = engine.call(lambda: server.connected[stranger.address])
        attack.communicate(timeout=60)
    finally:
        attack.kill()
        attack.wait()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert held <= 8  # the connections the show holds for the stranger (the rest: refused)
