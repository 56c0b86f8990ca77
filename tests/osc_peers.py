"""Loopback OSC peers for tests: a free UDP port, the next message a peer receives, a wait."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def recv_osc(sock: socket.socket, timeout: float = 2.0) -> tuple[str, list[object]] | None:
    """The first OSC message of the next datagram on ``sock`` (None after ``timeout`` s)."""
    from foretell.io.osc_codec import decode_packet

    sock.settimeout(timeout)
    try:
        return decode_packet(sock.recv(65536))[0]
    except TimeoutError:
        return None


def wait_for(check: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``check`` until it gives something true, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_until(condition: Callable[[], object], timeout: float = 2.0) -> None:
    """Poll ``condition`` until it holds or ``timeout`` s pass (the caller asserts after)."""
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)


def udp_peer(timeout: float = 2.0) -> socket.socket:
    """A UDP socket bound to a free port on 127.0.0.1, where an instrument can send."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(timeout)
    return sock
