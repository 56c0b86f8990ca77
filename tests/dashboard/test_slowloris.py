"""A slowloris from a second host (a network namespace) against the LAN dashboard, under
systemd's default limit of 1,024 open files: 1,100 connections sending their headers a byte at a
time. The token holder's requests are answered all along, the stranger holds a few connections
for a few seconds, and the console gets a line, not tracebacks."""

from __future__ import annotations

import asyncio
import logging
import resource
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.conftest import Live
from tests.netns import Stranger

SLOWLORIS = """
import resource, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
held = []
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    held.append(s)
time.sleep(0.5)
for s in held:
    try:
        s.send(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n")
    except OSError:
        pass
print("sent", flush=True)  # every connection made and its first header line sent
end = time.monotonic() + seconds
while time.monotonic() < end:
    time.sleep(0.5)
    for s in held:
        try:
            s.send(b"X")  # one more byte of a header that never ends
        except OSError:
            pass
alive = 0
for s in held:  # still open: connected, and reading finds nothing yet (no EOF, no reset)
    try:
        s.getpeername()
        s.recv(1)
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print(alive, flush=True)
"""


@pytest.fixture
def systemd_files_limit() -> Iterator[None]:
    """This process limited to 1,024 open files, as a systemd service is by default."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _held(dashboard: Any, host: str) -> int:
    """The connections from ``host`` the page's server holds now (asked on the server's own
    loop, on its thread)."""
    served = dashboard._server  # the ServerThread

    async def count() -> int:
        connections = served.server.server_state.connections
        return sum(c.client is not None and c.client[0] == host for c in connections)

    return asyncio.run_coroutine_threadsafe(count(), served.loop).result(5)


def _answered(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        response.read()
    return time.monotonic() - started


def test_a_slowloris_costs_the_token_holder_nothing(
    lan_live: Live,
    stranger: Stranger,
    systemd_files_limit: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dashboard = lan_live.dashboard
    guard = getattr(dashboard, "guard", None)
    if guard is not None:
        guard.header_timeout = 2.0  # the default's 10 s, shortened to keep the test short
    port, token = dashboard.address[1], dashboard.token
    mine = f"http://127.0.0.1:{port}/api/loadable?token={token}"
    caplog.set_level(logging.WARNING)
    attack_args = [stranger.gateway, str(port), "1100", "6"]
    attack = subprocess.Popen(
        ["ip", "netns", "exec", stranger.name, sys.executable, "-c", SLOWLORIS, *attack_args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert attack.stdout is not None and attack.stdout.readline() == "sent\n"
        took = [_answered(mine) for _ in range(20)]
        held = [_held(dashboard, stranger.address)]
        attack.communicate(timeout=60)
        held.append(_held(dashboard, stranger.address))
    finally:
        attack.kill()
        attack.wait()
    assert max(took) < 1.0, took
    assert max(held) <= 16  # the server's connections from the stranger: a few of 1,100
    assert guard is not None and guard.refused["slow_headers"] >= 16  # closed at the limit
    tracebacks = [r for r in caplog.records if r.exc_info or r.exc_text]
    assert tracebacks == [] and len(caplog.records) < 10, [r.getMessage() for r in caplog.records]
