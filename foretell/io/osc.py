"""OSC over UDP: a pure codec, a pure router, and a thin asyncio transport.

- Codec: ``decode_packet(bytes) -> [(address, args)]`` and ``encode_floats(address, values)`` in
  ``foretell.io.osc_codec`` (a strict, bounded decoder; bundles flattened, time tags ignored).
- Router: ``OscRouter.route(address, args)`` maps an address to one instrument's user input or
  live-control command, per its ``OscRoutes``: ``{input_address}`` (``/interface f f ...``),
  ``{control_prefix}/VERB`` (``/foretell/mode`` ...) and, if enabled, IMPSY's
  ``/impsy/mode|reset|pause|sigmatemp|pitemp|timescale``. Several instruments can share one port
  when their input addresses differ (``/lead/interface``, ``/bass/interface``).
- Transport: ``OscPort`` (a non-blocking UDP socket read on the engine's loop with
  ``add_reader``; each wake-up drains every waiting datagram, so each instrument answers only its
  newest input), ``OscSource`` (one instrument's place on a port, its own or shared) and
  ``OscSink`` (a non-blocking ``sendto``; a full buffer or unreachable peer drops the datagram and
  counts it, never blocks). With ``moved`` on, each event goes out as one bundle of
  ``{address} f f ...`` (the whole vector, as always) followed by ``{address}/moved i i ...``,
  the 0-based controls that moved in it (``foretell.events.Event.moved``; no arguments when
  none did).

Who sends matters: control verbs are obeyed from the performer's hosts only (``control_from``);
inputs from any other host are a guest's (played, logged as such, never learned from), at most
``GUEST_INPUT_RATE`` a second per host. A guest host may send ``DATAGRAM_RATE`` datagrams a
second (the excess is dropped before it is decoded: a flood costs one read each), and its
datagrams wait in a socket buffer apart from the performer's where the kernel allows
(``foretell.io.udp_split``). One datagram (a bundle) carries at most ``BUNDLE_INPUTS`` inputs,
whoever sends it. What is dropped is counted (``rate_limited``).

Neither sockets nor the loop are touched until ``start()``. Errors raise ``OscError``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from foretell.commands import IMPSY_VERBS, Command, parse_command
from foretell.config.control_sources import ControlSources
from foretell.errors import ControlError, OscError
from foretell.events import Event
from foretell.io.base import Inbox, Sink, Source
from foretell.io.osc_codec import (
    OscDecodeError,
    decode_packet,
    encode_bundle,
    encode_floats,
    encode_ints,
)
from foretell.io.rate_limit import (
    BUNDLE_INPUTS,
    RateLimiter,
    datagram_limiter,
    guest_input_limiter,
)
from foretell.io.udp_split import split_sockets

log = logging.getLogger(__name__)
RECEIVE_BUFFER = 1 << 22  # bytes: absorbs bursts while the loop is busy
MAX_DATAGRAM = 65536
DRAIN_LIMIT = 512  # datagrams per wake-up, so one flood cannot starve the loop
WAKEUP_BUDGET = 0.001  # seconds of reading per wake-up; the rest waits in the socket buffer
SLOW_WAKEUP = 0.005  # seconds: a wake-up longer than this is counted
ROUTED_LIMIT = 32  # messages handled per wake-up (each input is logged and fed to a model)


# -- routing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OscRoutes:
    """The addresses of one instrument (see the module docstring) and who may steer it."""

    input_address: str = "/interface"
    control_prefix: str = "/foretell"
    impsy_control: bool = True
    control_from: ControlSources = field(default_factory=ControlSources)


@dataclass(frozen=True)
class Rejected:
    """A message no inbox can use: the rejection kind and what to report."""

    kind: str
    detail: str


Routed = list[object] | Command | Rejected
Batch = list[tuple[int, list[object] | Command, bool]]  # slot, input or command, from a guest
LOCAL = "127.0.0.1"  # the sender of a datagram handed over without an address (tests)


class OscRouter:
    """The inboxes listening on one UDP port, told apart by address (one dict hit per input).

    Slot 0, the first inbox added, also takes what belongs to no one: malformed packets, unknown
    addresses and, when its routes allow them, IMPSY's ``/impsy/VERB`` (IMPSY names no
    instrument). Change it only between wake-ups (``add``/``remove`` run at start and stop).
    """

    def __init__(self) -> None:
        self.inboxes: list[Inbox] = []
        self._routes: list[OscRoutes] = []
        self._inputs: dict[str, int] = {}
        self._controls: dict[str, int] = {}
        self._impsy: int | None = None

    def add(self, routes: OscRoutes, inbox: Inbox) -> None:
        """Route ``routes``' addresses to ``inbox``; ``OscError`` if another inbox has them."""
        for other in self._routes:
            if routes.input_address == other.input_address:
                raise OscError(f"two inputs on one OSC port share {routes.input_address}")
        self.inboxes.append(inbox)
        self._routes.append(routes)
        self._index()

    def remove(self, inbox: Inbox) -> None:
        slot = next(i for i, known in enumerate(self.inboxes) if known is inbox)
        del self.inboxes[slot], self._routes[slot]
        self._index()

    def _index(self) -> None:
        self._inputs = {r.input_address: i for i, r in enumerate(self._routes)}
        self._controls = {r.control_prefix: i for i, r in enumerate(self._routes)}
        self._impsy = next((i for i, r in enumerate(self._routes) if r.impsy_control), None)

    def route(self, address: str, args: list[object], sender: str = LOCAL) -> tuple[int, Routed]:
        """The slot of the inbox ``address`` is for, and the input's raw values, a command or
        why it was rejected (a control verb from a host its routes do not allow is refused)."""
        slot = self._inputs.get(address)
        if slot is not None:
            return slot, args
        prefix, _, verb = address.rpartition("/")
        slot = self._controls.get(prefix)
        if slot is None and prefix == "/impsy" and verb in IMPSY_VERBS:
            slot = self._impsy
        if slot is None:
            return 0, Rejected("unknown_address", f"unknown OSC address {address[:80]!r}")
        allowed = self._routes[slot].control_from
        if not allowed.allows(sender):
            return slot, Rejected(
                "control_refused",
                f"{address} from {sender} refused: control is open to {allowed.describe()} "
                "(see [osc] control_from / --control-from)",
            )
        try:
            return slot, parse_command(verb, args)
        except ControlError as exc:
            return slot, Rejected("bad_command", f"{address}: {exc}")

    def collect(
        self,
        data: bytes,
        sender: str,
        batch: Batch,
        limiter: RateLimiter | None = None,
        guest_inputs: RateLimiter | None = None,
    ) -> None:
        """Decode and route one datagram onto ``batch``; what cannot be used is rejected there
        and then. Nothing one datagram holds can raise out of here. ``limiter`` bounds the
        sender's commands, ``guest_inputs`` a guest's inputs; a datagram's inputs beyond
        ``BUNDLE_INPUTS`` are dropped."""
        try:
            messages = decode_packet(data)
        except OscDecodeError as exc:
            self._reject(0, "malformed", str(exc))
            return
        inputs, guests = 0, dict[int, bool]()
        for address, args in messages:
            try:
                slot, item = self.route(address, args, sender)
            except Exception as exc:  # a defect must cost this message only
                slot, item = 0, Rejected("internal_error", f"{address[:80]}: {exc!r}")
            guest = guests.get(slot)
            if guest is None and not isinstance(item, Rejected):
                guest = guests[slot] = not self._routes[slot].control_from.allows(sender)
            if isinstance(item, list):
                inputs += 1
                item = self._admit(item, address, sender, inputs, guest, guest_inputs)
            elif not isinstance(item, Rejected) and limiter and not limiter.allow(sender):
                item = Rejected("rate_limited", f"{address} from {sender}: {limiter.describe()}")
            if isinstance(item, Rejected):
                self._reject(slot, item.kind, item.detail)
            else:
                batch.append((slot, item, bool(guest)))

    @staticmethod
    def _admit(
        values: list[object],
        address: str,
        sender: str,
        count: int,
        guest: bool | None,
        guest_inputs: RateLimiter | None,
    ) -> list[object] | Rejected:
        """An input, or why it is dropped: the ``count``-th of its datagram beyond
        ``BUNDLE_INPUTS``, or a guest's beyond its host's rate."""
        if count > BUNDLE_INPUTS:
            detail = f"{address} from {sender}: more than {BUNDLE_INPUTS} inputs in one datagram"
            return Rejected("rate_limited", detail)
        if guest and guest_inputs is not None and not guest_inputs.allow(sender):
            return Rejected("rate_limited", f"{sender}: {guest_inputs.describe('inputs')}")
        return values

    def dispatch(self, batch: Batch) -> None:
        """Hand a wake-up's batch over in order; each inbox answers only its newest input."""
        inboxes = self.inboxes
        last = {slot: i for i, (slot, item, _) in enumerate(batch) if isinstance(item, list)}
        for i, (slot, item, guest) in enumerate(batch):
            inbox = inboxes[slot]
            try:
                if isinstance(item, list):
                    inbox.on_input(item, answer=last[slot] == i, guest=guest)
                else:
                    inbox.on_command(item)
            except Exception as exc:  # one failing input must not cost the rest of the batch
                log.debug("OSC handling failed", exc_info=True)
                self._reject(slot, "internal_error", f"{type(item).__name__}: {exc!r}")

    def _reject(self, slot: int, kind: str, detail: str) -> None:
        try:
            self.inboxes[slot].on_reject(kind, detail)
        except Exception:  # reporting must never take the port down
            log.debug("OSC rejection report failed", exc_info=True)


def deliver(
    router: OscRouter,
    datagrams: Sequence[bytes | tuple[bytes, str]],
    limiter: RateLimiter | None = None,
) -> None:
    """Decode and route a batch of datagrams (optionally with their senders), then hand it over."""
    batch: Batch = []
    for item in datagrams:
        data, sender = item if isinstance(item, tuple) else (item, LOCAL)
        router.collect(data, sender, batch, limiter)
    router.dispatch(batch)


# -- transport ----------------------------------------------------------------------------------


def _resolve(host: str, port: int) -> tuple[str, int]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as exc:
        raise OscError(f"cannot resolve OSC host {host!r} ({exc})") from exc
    address = infos[0][4]
    return str(address[0]), int(address[1])


def _is_local(ip: str) -> bool:
    """Whether ``ip`` is an address of this machine (it can be bound here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((ip, 0))
        except OSError:
            return False
    return True


def refuse_feedback(listen_host: str, listen_port: int, send_host: str, send_port: int) -> None:
    """``OscError`` if the output would arrive at foretell's own input (the same host and port):
    the model would hear itself as the performer."""
    if listen_port == 0 or send_port != listen_port:
        return
    send_ip, _ = _resolve(send_host, send_port)
    listen_ip, _ = _resolve(listen_host, listen_port)
    same = send_ip == listen_ip or (listen_ip == "0.0.0.0" and _is_local(send_ip))
    if same:
        raise OscError(
            f"the OSC output {send_host}:{send_port} is foretell's own input "
            f"({listen_host}:{listen_port}): it would hear its own predictions as the performer; "
            "send elsewhere (--osc-out) or listen elsewhere (--osc-in)"
        )


class OscPort:
    """One UDP socket, shared by every ``OscSource`` that joins it (``OscRouter`` routes).

    The first ``join`` (on the engine's loop) binds the socket and registers it with the loop,
    which calls ``_readable`` when datagrams wait; the last ``leave`` closes it. ``received``
    counts the port's datagrams; ``slowest_wakeup`` is the longest one wake-up took (seconds of
    wall time; ``slowest_wakeup_cpu`` in this thread's CPU time, which a busy machine's other
    processes do not inflate), ``slow_wakeups`` those over ``SLOW_WAKEUP``.
    Control verbs are rate-limited per sending host (``limiter``), a guest host's datagrams
    (``datagrams``: the excess is dropped unread and counted in ``flooded``) and inputs
    (``guest_inputs``) too.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.router = OscRouter()
        self.limiter = RateLimiter()
        self.datagrams = datagram_limiter()
        self.guest_inputs = guest_input_limiter()
        self.flooded = 0
        self._performer: ControlSources | None = None
        self._hosts: dict[str, bool] = {}  # host -> one of the performer's (a bounded cache)
        self.received = self.wakeups = self.slow_wakeups = 0
        self.slowest_wakeup = self.slowest_wakeup_cpu = 0.0
        self._sockets: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def address(self) -> tuple[str, int]:
        if not self._sockets:
            raise OscError("the OSC input is not started")
        host, port = self._sockets[0].getsockname()[:2]
        return str(host), int(port)

    def join(self, routes: OscRoutes, inbox: Inbox) -> None:
        self.router.add(routes, inbox)
        if not self._sockets:
            try:
                self._open(routes)
            except OscError:
                self.router.remove(inbox)
                raise

    def leave(self, inbox: Inbox) -> None:
        self.router.remove(inbox)
        if not self.router.inboxes:
            self._close()

    def _open(self, routes: OscRoutes) -> None:
        """Bind the port: the performer's hosts' datagrams and the guests' in buffers of their
        own where the kernel can (``foretell.io.udp_split``), so a flood never costs an input."""
        address = _resolve(self.host, self.port)
        try:
            sockets = split_sockets(address, routes.control_from.networks, RECEIVE_BUFFER)
        except OSError as exc:
            raise OscError(
                f"cannot listen for OSC on {self.host}:{self.port} ({exc.strerror})"
            ) from exc
        self._sockets, self._loop = sockets, asyncio.get_running_loop()
        self._performer = routes.control_from
        for sock in sockets:
            sock.setblocking(False)
            self._loop.add_reader(sock.fileno(), self._readable, sock)

    def _readable(self, sock: socket.socket) -> None:
        """Read, decode and route what waits, within ``WAKEUP_BUDGET`` and ``ROUTED_LIMIT``
        (the rest stays in the socket buffer for the next wake-up), then hand the batch over."""
        if sock not in self._sockets:
            return
        started, cpu = time.perf_counter(), time.thread_time()
        batch: Batch = []
        for _ in range(DRAIN_LIMIT):
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break  # e.g. an ICMP error queued on the socket; the next read goes on
            self.received += 1
            host = str(sender[0])
            if self._is_performer(host) or self.datagrams.allow(host):
                self.router.collect(data, host, batch, self.limiter, self.guest_inputs)
            else:
                self._flooded(host)
            if len(batch) >= ROUTED_LIMIT or time.perf_counter() - started > WAKEUP_BUDGET:
                break
        self.router.dispatch(batch)
        self.wakeups += 1
        took = time.perf_counter() - started
        self.slowest_wakeup = max(self.slowest_wakeup, took)
        self.slowest_wakeup_cpu = max(self.slowest_wakeup_cpu, time.thread_time() - cpu)
        self.slow_wakeups += took > SLOW_WAKEUP

    def _is_performer(self, host: str) -> bool:
        known = self._hosts.get(host)
        if known is None:
            if len(self._hosts) >= 1024:  # a spray of forged senders costs bounded memory
                self._hosts.clear()
            performer = self._performer
            known = self._hosts[host] = performer is not None and performer.allows(host)
        return known

    def _flooded(self, host: str) -> None:
        self.flooded += 1
        detail = f"datagrams from {host}: {self.datagrams.describe('datagrams')}"
        self.router._reject(0, "rate_limited", detail)

    def _close(self) -> None:
        for sock in self._sockets:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets, self._loop = [], None


class OscSource(Source):
    """Receives one instrument's ``/interface`` and control messages on a UDP port.

    Alone it has a port of its own; give several the same ``OscPort`` (``shared``) and they
    listen on one socket, told apart by ``routes``. ``start``/``stop`` run on the engine's loop.
    ``address`` is the bound (host, port) once started (the real port when ``port=0``).
    """

    def __init__(
        self,
        host: str,
        port: int,
        routes: OscRoutes | None = None,
        shared: OscPort | None = None,
    ) -> None:
        super().__init__()
        self.host, self.port = host, port
        self.routes = routes or OscRoutes()
        self.udp = shared or OscPort(host, port)
        self._joined: Inbox | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.udp.address

    @property
    def received(self) -> int:
        """Datagrams received on this source's port (all its instruments')."""
        return self.udp.received

    def _open(self, inbox: Inbox) -> None:
        self.udp.join(self.routes, inbox)
        self._joined = inbox

    def _close(self) -> None:
        if self._joined is not None:
            self.udp.leave(self._joined)
        self._joined = None


class OscSink(Sink):
    """Sends each event as ``{address} f f ...`` (its control values) to host:port; with
    ``moved``, in a bundle with ``{address}/moved i i ...`` after it (the module docstring).

    ``send`` runs on the engine's loop (called by the scheduler); it never blocks: a datagram the
    OS cannot take at once, or one refused by the peer, is counted in ``dropped``.
    """

    def __init__(
        self, host: str, port: int, address: str = "/prediction", moved: bool = False
    ) -> None:
        super().__init__()
        self.host, self.port, self.osc_address = host, port, address
        self.moved_address = f"{address}/moved" if moved else None
        self._socket: socket.socket | None = None
        self._target: tuple[str, int] | None = None

    def _open(self) -> None:
        self._target = _resolve(self.host, self.port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self._socket = sock

    def _send(self, event: Event) -> bool:
        assert self._socket is not None and self._target is not None
        datagram = encode_floats(self.osc_address, event.values)
        if self.moved_address is not None:
            moved = range(len(event.values)) if event.moved is None else event.moved
            datagram = encode_bundle([datagram, encode_ints(self.moved_address, moved)])
        try:
            self._socket.sendto(datagram, self._target)
        except OSError:
            return False
        return True

    def _close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = None
