"""Loopback OSC peers for tests: a free UDP port, the next message a peer receives (waiting on a
condition: ``tests.waiting``)."""

from __future__ import annotations

import socket

from tests.waiting import wait_until


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


wait_for = wait_until  # the older name, kept for the tests that use it


def udp_peer(timeout: float = 2.0) -> socket.socket:
    """A UDP socket bound to a free port on 127.0.0.1, where an instrument can send."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(timeout)
    return sock
