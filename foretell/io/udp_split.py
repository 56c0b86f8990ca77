"""One UDP port, two socket buffers: the performer's hosts' datagrams in one, everyone else's in
the other, so no flood from a stranger can fill the buffer the performer's inputs wait in.

``split_sockets(address, performer)`` binds two sockets to ``address`` with ``SO_REUSEPORT`` and
attaches a classic BPF program to the pair that steers each datagram by its source address: one
of ``performer``'s IPv4 networks (``foretell.config.control_sources``) to the first socket, any
other to the second (a second run on the same port still fails with "address in use": the port
is probed alone first). Where the kernel cannot do that (not Linux, no ``SO_REUSEPORT``), or every
host is the performer's, it is one socket, as before. The caller owns the sockets.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct
from collections.abc import Sequence

from foretell.config.control_sources import Network

log = logging.getLogger(__name__)
SO_ATTACH_REUSEPORT_CBPF = 51  # Linux >= 4.5
SKF_NET_OFF = -0x100000  # BPF offsets from the IP header
LD_WORD_ABS, AND_K, JEQ_K, RET_K = 0x20, 0x54, 0x15, 0x06
MAX_NETWORKS = 60  # a classic BPF program has at most 4096 instructions; far more than needed
PERFORMER, GUESTS = 0, 1  # the socket each returns picks, in the order they joined the port


def steering_program(networks: Sequence[Network]) -> list[tuple[int, int, int, int]]:
    """Classic BPF (code, jt, jf, k): 0 for a source in one of ``networks`` (IPv4), else 1."""
    ipv4 = [n for n in networks if n.version == 4]
    program: list[tuple[int, int, int, int]] = []
    for i, network in enumerate(ipv4):
        after = (len(ipv4) - i - 1) * 3  # this block's jump lands past the later blocks
        program.append((LD_WORD_ABS, 0, 0, (SKF_NET_OFF + 12) & 0xFFFFFFFF))  # source address
        program.append((AND_K, 0, 0, int(network.netmask)))
        program.append((JEQ_K, after + 1, 0, int(network.network_address)))
    return [*program, (RET_K, 0, 0, GUESTS), (RET_K, 0, 0, PERFORMER)]


def _attach(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)


def split_sockets(
    address: tuple[str, int], performer: Sequence[Network], receive_buffer: int
) -> list[socket.socket]:
    """The performer's socket and the guests' bound to ``address`` (just one where the kernel
    cannot split a port, or no one is a guest); ``OSError`` as ``bind`` raises it."""
    everyone = any(n.prefixlen == 0 for n in performer)
    ipv4 = [n for n in performer if n.version == 4]
    reuse = getattr(socket, "SO_REUSEPORT", None)
    if everyone or reuse is None or not ipv4 or len(ipv4) > MAX_NETWORKS:
        return [_bound(address, receive_buffer)]
    if address[1] != 0:
        _bound(address, receive_buffer).close()  # "in use" stays an error: never share a port
    first = _bound(address, receive_buffer, reuse)
    try:
        second = _bound(first.getsockname()[:2], receive_buffer, reuse)
    except OSError:
        first.close()
        return [_bound(address, receive_buffer)]
    try:
        _attach(first, steering_program(ipv4))
    except OSError as exc:
        log.debug("one OSC socket for everyone (cannot steer by source: %s)", exc)
        second.close()
        return [first]
    return [first, second]


def _bound(
    address: tuple[str, int], receive_buffer: int, reuse: int | None = None
) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if reuse is not None:
            sock.setsockopt(socket.SOL_SOCKET, reuse, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
