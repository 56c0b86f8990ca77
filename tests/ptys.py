"""A real serial line without hardware: ``socat`` joining two ptys (Debian: socat).

``tests/conftest.py`` loads this module as a plugin, so any test can name the ``pty`` fixture:
foretell opens ``pty.device``; the test writes and reads the other end (``pty.write``,
``pty.read_lines``), and can ``unplug``/``plug`` it to pull and put back the cable.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_until

SOCAT = shutil.which("socat")


class PtyPair:
    """``socat`` joining two ptys, linked at ``device`` (foretell's end) and ``peer`` (ours)."""

    def __init__(self, directory: Path) -> None:
        self.device, self.peer = directory / "device", directory / "peer"
        self.process: subprocess.Popen[bytes] | None = None
        self.fd: int | None = None

    def plug(self) -> None:
        assert SOCAT is not None
        self.process = subprocess.Popen(
            [
                SOCAT,
                f"pty,raw,echo=0,link={self.device}",
                f"pty,raw,echo=0,link={self.peer}",
            ],
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self.device.exists() and self.peer.exists(), what="socat's ptys")
        self.fd = os.open(self.peer, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def unplug(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.process is not None:
            self.process.terminate()
            self.process.wait(5)
            self.process = None
        wait_until(
            lambda: not (self.device.exists() or self.peer.exists()), what="socat's links to go"
        )

    def write(self, data: bytes) -> None:
        assert self.fd is not None
        os.write(self.fd, data)

    def read_lines(self, count: int, timeout: float = 3.0) -> list[bytes]:
        assert self.fd is not None
        data = b""
        end = time.monotonic() + timeout
        while data.count(b"\n") < count and (left := end - time.monotonic()) > 0:
            if select.select([self.fd], [], [], left)[0]:
                data += os.read(self.fd, 65536)
        return data.splitlines()


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    if SOCAT is None:
        pytest.skip("socat is not installed (Debian: apt-get install socat)")
    pair = PtyPair(tmp_path)
    pair.plug()
    yield pair
    pair.unplug()
