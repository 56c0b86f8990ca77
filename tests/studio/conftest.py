"""A real studio: ``foretell init`` makes a project, ``foretell studio DIR`` serves it (a process of
its own, as a user starts it), OSC in on a free port and its ``/prediction`` out to a UDP socket
the test reads; and headless Debian Chromium to drive the page.

The studio is stopped with SIGINT (Ctrl-C), as a user stops it. Browser tests skip, saying why,
when Playwright or ``/usr/bin/chromium`` is missing; Chromium is never downloaded.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from foretell.io.osc_codec import decode_packet, encode_floats
from tests.dashboard.conftest import CHROMIUM, CHROMIUM_ARGS

CONTROLS = 2  # the project's instrument: two controls (dimension 3)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def foretell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "foretell", *args], capture_output=True, text=True, check=True
    )


@dataclass
class Studio:
    """A running ``foretell studio``: its project, page, OSC ports and what it printed."""

    process: subprocess.Popen[str]
    root: Path
    base: str  # http://127.0.0.1:PORT
    osc_in: tuple[str, int]
    osc_out: socket.socket
    printed: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/studio/"

    def get(self, path: str) -> Any:
        """One GET of the API, as curl would make it; the JSON answer."""
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.loads(response.read())

    def play(self, events: int, every: float = 0.004, phase: float = 0.0) -> None:
        """``events`` /interface messages over real UDP: two slow, swaying controls."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(events):
                a = phase + i / 7
                values = [0.5 + 0.4 * math.sin(a), 0.5 + 0.3 * math.cos(0.6 * a)]
                sock.sendto(encode_floats("/interface", values), self.osc_in)
                time.sleep(every)

    def predictions(self) -> list[list[float]]:
        """Every ``/prediction`` waiting on the output socket (drains it)."""
        found: list[list[float]] = []
        while True:
            try:
                data = self.osc_out.recv(65536)
            except BlockingIOError:
                return found
            for address, args in decode_packet(data):
                if address == "/prediction":
                    found.append([float(v) for v in args])  # type: ignore[arg-type]


def _read_banner(process: subprocess.Popen[str], printed: list[str]) -> str:
    """The page's address from ``foretell: studio at http://...``; what it printed is kept."""
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, "foretell studio ended before serving:\n" + "".join(printed)
        printed.append(line)
        if found := re.search(r"studio at (http://[^/\s]+)", line):
            return found.group(1)
    raise AssertionError("no 'studio at http://...' line printed:\n" + "".join(printed))


def _drain(process: subprocess.Popen[str], printed: list[str]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        printed.append(line)


@contextlib.contextmanager
def running_studio(root: Path) -> Iterator[Studio]:
    """``foretell studio ROOT`` on port 0, OSC in on a free port, out to a socket read here;
    stopped with SIGINT, which it must survive with exit status 0."""
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind(("127.0.0.1", 0))
    out.setblocking(False)
    osc_in = ("127.0.0.1", free_udp_port())
    command = [sys.executable, "-m", "foretell", "studio", str(root), "--port", "0"]
    command += ["--osc-in", f"{osc_in[0]}:{osc_in[1]}"]
    command += ["--osc-out", f"127.0.0.1:{out.getsockname()[1]}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    printed: list[str] = []
    try:
        base = _read_banner(process, printed)
        threading.Thread(target=_drain, args=(process, printed), daemon=True).start()
        yield Studio(process, root, base, osc_in, out, printed)
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0, "".join(printed)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()


def make_project(root: Path) -> Path:
    foretell("init", str(root), "--controls", str(CONTROLS))
    return root


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    """``foretell init`` a project of two controls, and ``foretell studio`` it."""
    with running_studio(make_project(tmp_path / "my-pad")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')"
    )
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
