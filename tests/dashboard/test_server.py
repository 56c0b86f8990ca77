"""The real server over real sockets, without a browser: page, model list, stream, commands."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
import urllib.request
from typing import Any

import pytest
from websockets.sync.client import connect

from foretell.dashboard.server import Dashboard, DashboardError
from foretell.perform.engine import Engine
from tests.dashboard.conftest import Live
from tests.perform.helpers import instrument


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


def received(ws: Any, until: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Messages (arrays unpacked) until one of kind ``until`` has come."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = json.loads(ws.recv(timeout=timeout))
        found += data if isinstance(data, list) else [data]
        if any(until in m for m in found):
            return found
    raise AssertionError(f"no {until!r} message")


def test_page_and_model_list_are_served(live: Live) -> None:
    assert b'<canvas id="pad"' in fetch(live.url)
    assert b"requestAnimationFrame" in fetch(live.url + "app.js")
    listing = json.loads(fetch(live.url + "api/loadable"))
    assert listing["models"] == ["other.ftm", "random.ftm"] and listing["current"] == "random.ftm"


def test_stream_carries_state_events_and_commands(live: Live) -> None:
    with connect(live.url.replace("http", "ws") + "ws") as ws:
        first = received(ws, "state")
        assert "hello" in first[0] and first[0]["hello"]["modes"][0] == "listen"
        ws.send(json.dumps({"command": "mode", "args": ["filter"]}))
        ws.send(json.dumps({"interface": [0.3, 0.6, 0.9]}))
        events = received(ws, "prediction")
        user = next(m for m in events if "interface" in m)
        assert user["interface"] == [0.3, 0.6, 0.9] and user["dt"] == 0.0
        expect = [m for m in received(ws, "expect") if "expect" in m][-1]["expect"]
        assert expect is not None and len(expect["components"][0]["x"]) == 3
        states = [m["state"] for m in received(ws, "state") if "state" in m]
        assert states[-1]["mode"] == "filter" and states[-1]["counts"]["inputs"] == 1
    assert live.settings().mode == "filter"


def test_state_frames_keep_coming_while_a_page_is_connected(live: Live) -> None:
    """The page is sent a fresh state frame again and again, not only when something changes
    (how many per second is ``foretell bench frames``'s figure: a loaded machine lowers it)."""
    with connect(live.url.replace("http", "ws") + "ws") as ws:
        hello = received(ws, "hello")[0]["hello"]
        nows: list[float] = []
        deadline = time.monotonic() + 10
        while len(nows) < 10 and time.monotonic() < deadline:
            data = json.loads(ws.recv(timeout=10))
            messages = data if isinstance(data, list) else [data]
            nows += [m["state"]["now"] for m in messages if "state" in m]
    assert hello["fps"] == 30.0 and len(nows) >= 10, f"{len(nows)} state frames in 10 s"
    assert all(b > a for a, b in itertools.pairwise(nows))  # each one a new snapshot


def test_a_busy_port_is_one_clear_error() -> None:
    inst, clock, _ = instrument()
    engine = Engine(clock, inst.scheduler, [inst])

    async def start(port: int) -> None:
        Dashboard(engine, "127.0.0.1", port).start()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(DashboardError, match="choose another port"):
            asyncio.run(start(taken.getsockname()[1]))
