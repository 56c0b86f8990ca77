"""A second host for tests: a network namespace joined to this one by a veth pair.

The ``stranger`` fixture makes a namespace with its own address (``stranger.address``) that
reaches this machine at ``stranger.gateway``; ``stranger.socket(kind)`` opens a socket inside it,
so what it sends arrives from another host than 127.0.0.1, as a stranger on the venue's network
would. Needs root and ``ip`` (iproute2); the test is skipped, saying why, where it cannot be made.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

CLONE_NEWNET = 0x40000000


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@dataclass(frozen=True)
class Stranger:
    """Another host: its namespace's name, its address and ours on the link between us."""

    name: str
    address: str
    gateway: str

    def socket(self, kind: int = socket.SOCK_DGRAM) -> socket.socket:
        """An IPv4 socket of ``kind`` that lives in the stranger's namespace."""
        made: list[socket.socket | BaseException] = []

        def inside() -> None:  # a thread's namespace is its own: enter it, open, leave
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(f"/run/netns/{self.name}") as ns:
                    if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns failed")
                made.append(socket.socket(socket.AF_INET, kind))
            except BaseException as exc:
                made.append(exc)

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join()
        result = made[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``command`` inside the stranger's namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "a second host (network namespace) needs root"
    if shutil.which("ip") is None:
        return "a second host (network namespace) needs iproute2's ip"
    return None


@contextlib.contextmanager
def second_host() -> Iterator[Stranger]:
    """Make the namespace and its link; remove both afterwards."""
    why = _why_not()
    if why is not None:
        pytest.skip(why)
    pid = os.getpid()
    name, ours, theirs = f"ftns{pid}", f"ftv{pid}a", f"ftv{pid}b"
    subnet = f"10.{200 + pid % 50}.{(pid // 50) % 250}"
    steps = [
        ("netns", "add", name),
        ("link", "add", ours, "type", "veth", "peer", "name", theirs),
        ("link", "set", theirs, "netns", name),
        ("addr", "add", f"{subnet}.1/24", "dev", ours),
        ("link", "set", ours, "up"),
        ("-n", name, "addr", "add", f"{subnet}.2/24", "dev", theirs),
        ("-n", name, "link", "set", theirs, "up"),
        ("-n", name, "link", "set", "lo", "up"),
    ]
    try:
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                failed = f"ip {' '.join(step)}: {done.stderr.strip()}"
                pytest.skip(f"cannot make a second host: {failed}")
        yield Stranger(name, f"{subnet}.2", f"{subnet}.1")
    finally:
        _ip("link", "del", ours)
        _ip("netns", "del", name)


@pytest.fixture
def stranger() -> Iterator[Stranger]:
    with second_host() as host:
        yield host
