"""A real studio: ``foretell init`` makes a project, ``foretell studio DIR`` serves it (a process of
its own, as a user starts it: ``tests/studio/running.py``), OSC in on a port of its choosing and
its ``/prediction`` out to a UDP socket the test reads; and headless Debian Chromium to drive the
page. The studio is stopped with SIGINT (Ctrl-C), as a user stops it.

Browser tests skip, saying why, when Playwright or ``/usr/bin/chromium`` is missing; Chromium is
never downloaded.
"""

from __future__ import annotations

import contextlib
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from foretell.io.osc_codec import decode_packet, encode_floats
from tests.studio.running import StudioProcess, running_studio

CONTROLS = 2  # the project's instrument: two controls (dimension 3)


def foretell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "foretell", *args], capture_output=True, text=True, check=True
    )


@dataclass
class Studio:
    """A running ``foretell studio`` (``tests/studio/running.py``), its project and the socket
    its ``/prediction`` messages come to."""

    running: StudioProcess
    root: Path
    osc_out: socket.socket

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def base(self) -> str:
        return self.running.base.rstrip("/")

    def get(self, path: str) -> Any:
        """One GET of the API, as curl would make it; the JSON answer."""
        return self.running.client.get(path.lstrip("/"))

    def play(self, events: int, every: float = 0.004, phase: float = 0.0) -> None:
        """``events`` /interface messages over real UDP: two slow, swaying controls."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(events):
                a = phase + i / 7
                values = [0.5 + 0.4 * math.sin(a), 0.5 + 0.3 * math.cos(0.6 * a)]
                sock.sendto(
                    encode_floats("/interface", values), ("127.0.0.1", self.running.osc_port)
                )
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


def make_project(root: Path) -> Path:
    """``foretell init ROOT --controls 2``, as a user makes a project."""
    foretell("init", str(root), "--controls", str(CONTROLS))
    return root


@contextlib.contextmanager
def studio_of(root: Path) -> Iterator[Studio]:
    """``foretell studio ROOT`` (port 0, OSC in on a free port), sending to a socket read here;
    stopped with SIGINT, after which it must exit with status 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        out.bind(("127.0.0.1", 0))
        out.setblocking(False)
        with running_studio(root, out_port=out.getsockname()[1]) as running:
            yield Studio(running, root, out)


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    """``foretell init`` a project of two controls, and ``foretell studio`` it."""
    with studio_of(make_project(tmp_path / "my-pad")) as running:
        yield running
