"""A real ``foretell studio`` process for tests: its page's address, its OSC port, a client.

``running_studio(project)`` starts ``python -m foretell studio PROJECT --port 0`` with OSC on a
free loopback port and predictions sent to ``out_port``, reads the addresses it prints, and
stops it with Ctrl-C (SIGINT) at the end, as a musician would. ``Client`` speaks the JSON API
with urllib, the way curl would (no Origin header unless given).
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foretell.io.osc_codec import encode_floats
from foretell.project.layout import init_project
from tests.osc_peers import wait_for


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    """Requests to one server; ``origin`` is sent as the Origin header when set."""

    base: str  # http://127.0.0.1:PORT/
    origin: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = None
        sent = dict(headers or {})
        if isinstance(body, bytes | str):
            data = body.encode() if isinstance(body, str) else body
        elif body is not None:
            data = json.dumps(body).encode()
            content_type = content_type or "application/json"
        if content_type is not None:
            sent["Content-Type"] = content_type
        if self.origin is not None:
            sent.setdefault("Origin", self.origin)
        request = urllib.request.Request(self.base + path, data, sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), dict(error.headers))

    def get(self, path: str) -> Any:
        reply = self.request("GET", path)
        assert reply.status == 200, (path, reply.status, reply.body[:300])
        return reply.json()

    def post(self, path: str, body: Any, status: int = 200) -> Any:
        reply = self.request("POST", path, body)
        assert reply.status == status, (path, reply.status, reply.body[:300])
        return reply.json()


@dataclass
class StudioProcess:
    process: subprocess.Popen[str]
    url: str  # the studio page, http://127.0.0.1:PORT/studio/
    osc_port: int
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The server's root, http://HOST:PORT/ (without a LAN bind's token)."""
        return self.url.split("studio/")[0]

    @property
    def client(self) -> Client:
        return Client(self.base)

    def play(self, events: int, controls: int, gap: float = 0.004) -> None:
        """Send ``events`` /interface messages of ``controls`` values, a phrase-like gesture."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(events):
                values = [((i * (k + 3)) % 97) / 97 for k in range(controls)]
                sock.sendto(encode_floats("/interface", values), ("127.0.0.1", self.osc_port))
                time.sleep(gap * (1 + (i % 5)))

    def wait_for(self, condition: Any, timeout: float = 10.0) -> Any:
        return wait_for(condition, timeout)


def make_project(root: Path, controls: int = 2) -> Path:
    init_project(root, controls + 1)
    return root


def _read_addresses(process: subprocess.Popen[str], lines: list[str]) -> tuple[str, int]:
    assert process.stderr is not None
    url = port = None
    deadline = time.monotonic() + 30
    while (url is None or port is None) and time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, "foretell studio ended early:\n" + "".join(lines)
        lines.append(line)
        if found := re.search(r"studio at (http://\S+)", line):
            url = found.group(1)
        if found := re.search(r"listening for OSC on 127\.0\.0\.1:(\d+)", line):
            port = int(found.group(1))
    assert url is not None and port is not None, "".join(lines)
    return url, port


@contextlib.contextmanager
def running_studio(project: Path, *options: str, out_port: int = 9) -> Iterator[StudioProcess]:
    command = [sys.executable, "-m", "foretell", "studio", str(project), "--port", "0"]
    command += ["--osc-in", "127.0.0.1:0", "--osc-out", f"127.0.0.1:{out_port}", *options]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        url, port = _read_addresses(process, lines)
        drain = threading.Thread(target=lambda: lines.extend(process.stderr or []), daemon=True)
        drain.start()
        yield StudioProcess(process, url, port, lines)
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
