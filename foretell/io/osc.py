"""OSC over UDP: a pure codec, a pure router, and a thin asyncio transport.

- Codec: ``decode_packet(bytes) -> [(address, args)]`` (python-osc's parser; bundles are flattened,
  their time tags ignored: inputs count when they arrive) and ``encode_floats(address, values)``
  (a cached prefix plus ``struct``: ``/prediction f f ...``).
- Router: ``OscRoutes.route(address, args)`` maps an address to a user input or a live-control
  command: ``{input_address}`` (``/interface f f ...``), ``{control_prefix}/VERB``
  (``/foretell/mode`` ...) and, if enabled, IMPSY's
  ``/impsy/mode|reset|pause|sigmatemp|pitemp|timescale``.
- Transport: ``OscSource`` (a non-blocking UDP socket read on the engine's loop with
  ``add_reader``; each wake-up drains every waiting datagram, so an answer is made only for the
  newest input) and ``OscSink`` (a non-blocking ``sendto``; a full buffer or unreachable peer drops
  the datagram and counts it, never blocks).

Neither sockets nor the loop are touched until ``start()``. Errors raise ``OscError``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pythonosc.osc_packet import OscPacket, ParseError

from foretell.errors import ControlError, OscError
from foretell.events import Event
from foretell.io.base import Inbox, Sink, Source
from foretell.perform.control import IMPSY_VERBS, Command, parse_command

RECEIVE_BUFFER = 1 << 22  # bytes: absorbs bursts while the loop is busy
MAX_DATAGRAM = 65536
DRAIN_LIMIT = 512  # datagrams per wake-up, so one flood cannot starve the loop


# -- codec --------------------------------------------------------------------------------------


def _padded(text: str) -> bytes:
    raw = text.encode("utf-8") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


@lru_cache(maxsize=64)
def _float_prefix(address: str, count: int) -> tuple[bytes, struct.Struct]:
    return _padded(address) + _padded("," + "f" * count), struct.Struct(f">{count}f")


def encode_floats(address: str, values: Sequence[float]) -> bytes:
    """An OSC message ``address f f ...`` (32-bit floats)."""
    prefix, packer = _float_prefix(address, len(values))
    return prefix + packer.pack(*values)


def decode_packet(data: bytes) -> list[tuple[str, list[object]]]:
    """Every message in a datagram as ``(address, args)``; ``OscError`` if it is malformed."""
    try:
        packet = OscPacket(data)
    except (ParseError, ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise OscError(f"malformed OSC packet of {len(data)} bytes ({exc})") from exc
    return [(m.message.address, list(m.message.params)) for m in packet.messages]


# -- routing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OscRoutes:
    """Which addresses mean what (see the module docstring)."""

    input_address: str = "/interface"
    control_prefix: str = "/foretell"
    impsy_control: bool = True

    def route(self, address: str, args: list[object]) -> list[object] | Command:
        """The input's raw values (a list) or a command; raise ``ControlError``/``OscError``."""
        if address == self.input_address:
            return args
        prefix, _, verb = address.rpartition("/")
        if prefix == self.control_prefix or (
            self.impsy_control and prefix == "/impsy" and verb in IMPSY_VERBS
        ):
            return parse_command(verb, args)
        raise OscError(f"unknown OSC address {address!r}")


def deliver(inbox: Inbox, routes: OscRoutes, datagrams: Sequence[bytes]) -> None:
    """Decode and route a batch of datagrams in order; only the last input is answered."""
    routed: list[list[object] | Command] = []
    for data in datagrams:
        try:
            messages = decode_packet(data)
        except OscError as exc:
            inbox.on_reject("malformed", str(exc))
            continue
        for address, args in messages:
            try:
                routed.append(routes.route(address, args))
            except ControlError as exc:
                inbox.on_reject("bad_command", f"{address}: {exc}")
            except OscError as exc:
                inbox.on_reject("unknown_address", str(exc))
    last_input = max((i for i, item in enumerate(routed) if isinstance(item, list)), default=-1)
    for i, item in enumerate(routed):
        if isinstance(item, list):
            inbox.on_input(item, answer=i == last_input)
        else:
            inbox.on_command(item)


# -- transport ----------------------------------------------------------------------------------


def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as exc:
        raise OscError(f"cannot resolve OSC host {host!r} ({exc})") from exc
    address = infos[0][4]
    return str(address[0]), int(address[1])


class OscSource(Source):
    """Receives ``/interface`` and control messages on a UDP port.

    ``start`` (on the engine's loop) binds the socket and registers it with the loop; the loop
    calls ``_readable`` when datagrams wait. ``address`` is the bound (host, port) once started,
    which tells the real port when ``port=0``.
    """

    def __init__(self, host: str, port: int, routes: OscRoutes | None = None) -> None:
        super().__init__()
        self.host, self.port = host, port
        self.routes = routes or OscRoutes()
        self.received = 0
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._socket is None:
            raise OscError("the OSC input is not started")
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def _open(self, inbox: Inbox) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.bind(_resolve(self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OscError(
                f"cannot listen for OSC on {self.host}:{self.port} ({exc.strerror})"
            ) from exc
        sock.setblocking(False)
        self._socket, self._loop = sock, asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable, inbox)

    def _readable(self, inbox: Inbox) -> None:
        sock = self._socket
        if sock is None:
            return
        datagrams = []
        for _ in range(DRAIN_LIMIT):
            try:
                datagrams.append(sock.recv(MAX_DATAGRAM))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. an ICMP error queued on the socket; the next read goes on
        self.received += len(datagrams)
        deliver(inbox, self.routes, datagrams)

    def _close(self) -> None:
        if self._socket is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._socket.fileno())
            self._socket.close()
        self._socket = self._loop = None


class OscSink(Sink):
    """Sends each event as ``{address} f f ...`` (its control values) to host:port.

    ``send`` runs on the engine's loop (called by the scheduler); it never blocks: a datagram the
    OS cannot take at once, or one refused by the peer, is counted in ``dropped``.
    """

    def __init__(self, host: str, port: int, address: str = "/prediction") -> None:
        super().__init__()
        self.host, self.port, self.osc_address = host, port, address
        self._socket: socket.socket | None = None
        self._target: tuple[str, int] | None = None

    def _open(self) -> None:
        self._target = _resolve(self.host, self.port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self._socket = sock

    def _send(self, event: Event) -> bool:
        assert self._socket is not None and self._target is not None
        try:
            self._socket.sendto(encode_floats(self.osc_address, event.values), self._target)
        except OSError:
            return False
        return True

    def _close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = None
