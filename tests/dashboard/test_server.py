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
from foretell.perform.listeners import Listeners
from foretell.settings import SETTINGS
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


def test_the_pages_modules_are_served_as_javascript(live: Live) -> None:
    """A browser runs a module script only with a JavaScript type: the page's own and the
    shared ones (under /shared/, which the studio's page loads too)."""
    for path, kind in [
        ("app.js", "text/javascript"),
        ("shared/messages.js", "text/javascript"),
        ("shared/theme.css", "text/css"),
    ]:
        with urllib.request.urlopen(live.url + path, timeout=5) as response:
            assert response.headers.get_content_type() == kind, path


def test_stream_carries_state_events_and_commands(live: Live) -> None:
    with connect(live.url.replace("http", "ws") + "ws") as ws:
        first = received(ws, "state")
        assert "hello" in first[0] and first[0]["hello"]["modes"][0] == "listen"
        ws.send(json.dumps({"command": "mode", "args": ["filter"]}))
        ws.send(json.dumps({"interface": [0.3, 0.6, 0.9]}))
        events = received(ws, "prediction")
        user = next(m for m in events if "interface" in m)
        assert user["interface"] == [0.3, 0.6, 0.9] and user["dt"] == 0.0
        # the expectation is sent when it changes: it may have come with the prediction
        seen = events if any("expect" in m for m in events) else received(ws, "expect")
        expect = [m for m in seen if "expect" in m][-1]["expect"]
        assert expect is not None and len(expect["components"][0]["x"]) == 3
        states = [m["state"] for m in received(ws, "state") if "state" in m]
        assert states[-1]["mode"] == "filter" and states[-1]["counts"]["inputs"] == 1
    assert live.settings().mode == "filter"


def test_a_page_is_sent_the_live_settings_once_and_their_ranges_hold(live: Live) -> None:
    with connect(live.url.replace("http", "ws") + "ws") as ws:
        first = received(ws, "settings")
        kinds = [next(iter(m)) for m in first]
        assert kinds[:2] == ["hello", "settings"]
        entries = {e["verb"]: e for e in first[1]["settings"]}
        assert set(entries) == {s.verb for s in SETTINGS} >= {"pitemp", "activitytemp", "thru"}
        top = entries["timescale"]
        assert (top["min"], top["max"], top["default"], top["unit"]) == (0.05, 20.0, 1.0, "×")
        assert entries["thru"]["kind"] == "flag" and entries["thru"]["default"] is False
        ws.send(json.dumps({"command": "timescale", "args": [top["max"]]}))
        ws.send(json.dumps({"command": "timescale", "args": [top["max"] + top["step"]]}))
        later = received(ws, "error")
        error = next(m["error"] for m in later if "error" in m)
        assert "timescale must be a finite number in 0.05..20" in error
        later += received(ws, "state")  # a frame or two after the commands
        assert not any("settings" in m for m in later)  # once, at connection
    assert live.settings().timescale == 20.0


def test_the_shows_loop_builds_no_message_but_the_greeting(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events, state, expectation: all turned into JSON on the server's loop; the show's loop
    only hands over copies (the greeting, sent as a page connects, is built there)."""
    from foretell.dashboard import publisher

    built: list[tuple[str, bool]] = []
    dumps = publisher._dumps

    def spy(message: dict[str, Any]) -> str:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        assert live.dashboard._server is not None
        built.append((next(iter(message)), here is live.dashboard._server.loop))
        return dumps(message)

    monkeypatch.setattr(publisher, "_dumps", spy)
    with connect(live.url.replace("http", "ws") + "ws") as ws:
        received(ws, "state")
        ws.send(json.dumps({"command": "mode", "args": ["filter"]}))
        ws.send(json.dumps({"interface": [0.3, 0.6, 0.9]}))
        if not any("expect" in m for m in received(ws, "prediction")):
            received(ws, "expect")  # sent when it changes: it may have come with the prediction
    kinds = {kind for kind, _ in built}
    assert {"hello", "state", "expect", "interface", "prediction"} <= kinds
    on_the_show = {kind for kind, on_server in built if not on_server}
    assert on_the_show == {"hello"}, built


def test_a_page_message_past_64_kb_is_refused_unread(live: Live) -> None:
    """A page (a guest's too) cannot hand the show a message that takes long to parse: one past
    64 KB closes its socket (1009, too big) before it is read; the next page plays on."""
    from websockets.exceptions import ConnectionClosed

    with connect(live.url.replace("http", "ws") + "ws", max_size=None) as ws:
        received(ws, "state")
        ws.send(json.dumps({"interface": [0.5] * 40_000}))  # ~200 KB
        deadline = time.monotonic() + 5
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() < deadline:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert live.instrument().rejected == {}  # never read, so never counted as a bad input
    with connect(live.url.replace("http", "ws") + "ws") as ws:
        received(ws, "state")
        ws.send(json.dumps({"command": "mode", "args": ["filter"]}))
        ws.send(json.dumps({"interface": [0.3, 0.6, 0.9]}))
        assert any("prediction" in m for m in received(ws, "prediction"))


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
    hub = Listeners()
    inst, clock, _ = instrument(listeners=[hub])
    engine = Engine(clock, inst.scheduler, [inst], listeners=hub)

    async def start(port: int) -> None:
        Dashboard(engine, "127.0.0.1", port).start()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(DashboardError, match="choose another port"):
            asyncio.run(start(taken.getsockname()[1]))
