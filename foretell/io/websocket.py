"""A WebSocket server as a source and a sink of the engine (the ``websockets`` library, asyncio).

Messages are JSON text, one object each:

- in: ``{"interface": [0.1, 0.5, 0.9]}`` (a user input) or
  ``{"command": "mode", "args": ["filter"]}`` (live control, parsed by ``parse_command`` exactly
  as OSC's ``/foretell/mode`` is);
- out: ``{"prediction": [..], "t": .., "dt": ..}`` for each model event as it plays, and
  ``{"interface": [..], "t": .., "dt": ..}`` echoing each user input (from any transport) for
  displays; ``{"error": ".."}`` answers a client's bad message.

Clients on the performer's hosts (this machine and ``control_from``; see
``foretell.config.control_sources``) may steer and are never turned away for room; any other
host is a guest: its inputs are played (logged as a guest's, never learned from, at most
``GUEST_INPUT_RATE`` a second), its commands refused as OSC refuses them, and it holds at most
``per_source`` of the ``max_clients`` places. Connections are counted as they are accepted, before
the handshake: a guest host may hold twice ``per_source`` (handshakes under way included), all
guests together twice ``max_clients``; one over is aborted at once, and a handshake not done in
``OPEN_TIMEOUT`` seconds is dropped, so slow strangers cannot use up the process's open files.
Inputs from all clients feed the instrument and every client gets every output.

A client that does not read must never stall anything: a message is written
only while that client's unsent bytes stay under ``buffer``, otherwise it is dropped and counted;
a client that stays full for ``stall_timeout`` seconds is disconnected. Invalid JSON, binary
frames, unknown keys and bad commands are rejected (counted by the engine) and answered with an
error; a message over ``MAX_MESSAGE`` bytes closes that client (code 1009).

- Codec: ``decode_message`` / ``encode_event`` (pure).
- Transport: ``WebSocketServer`` (the listening socket and the clients), ``WebSocketSource`` and
  ``WebSocketSink`` (the engine's two ends of one server).

The port is bound in ``start()`` (so "address in use" is an immediate ``WebSocketError``);
websockets is imported only then.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from foretell.commands import Command, parse_command
from foretell.config.control_sources import ControlSources
from foretell.errors import ControlError, ForetellError
from foretell.events import Event
from foretell.io.base import Inbox, Sink, Source, waiting
from foretell.io.origins import HostNames, origin_allowed
from foretell.io.rate_limit import RateLimiter, guest_input_limiter

log = logging.getLogger(__name__)
MAX_MESSAGE = 1 << 16  # bytes of one incoming message
PER_SOURCE = 4  # clients one guest host may hold at once
OPEN_TIMEOUT = 5.0  # seconds a connection may take to finish its handshake


class WebSocketError(ForetellError):
    """A WebSocket message cannot be decoded, or the server cannot listen."""


# -- codec --------------------------------------------------------------------------------------


def decode_message(message: str | bytes) -> list[object] | Command:
    """A user input's raw values (a list) or a command; ``WebSocketError``/``ControlError``."""
    if not isinstance(message, str):
        raise WebSocketError(f"binary message of {len(message)} bytes (send JSON text)")
    try:
        data = json.loads(message)
    except ValueError as exc:
        raise WebSocketError(f"invalid JSON {message[:60]!r} ({exc})") from exc
    if not isinstance(data, dict):
        raise WebSocketError(f"expected a JSON object, got {message[:60]!r}")
    if "interface" in data:
        values = data["interface"]
        if not isinstance(values, list):
            raise WebSocketError(f'"interface" must be a list of numbers, got {values!r}')
        return values
    if "command" in data:
        verb, args = data["command"], data.get("args", [])
        if not isinstance(verb, str) or not isinstance(args, list):
            raise ControlError(f'"command" must be a string and "args" a list, got {data!r}')
        return parse_command(verb, args)
    raise WebSocketError(f'unknown message {message[:60]!r} (expected "interface" or "command")')


def encode_event(event: Event) -> str:
    """``{"prediction": ..}`` for a model event, ``{"interface": ..}`` for a user event."""
    key = "prediction" if event.source == "model" else "interface"
    return json.dumps(
        {key: list(event.values), "t": round(event.t, 6), "dt": round(event.dt, 6)},
        separators=(",", ":"),
    )


def encode_error(detail: str) -> str:
    return json.dumps({"error": detail}, separators=(",", ":"))


# -- transport ----------------------------------------------------------------------------------


class _WarningsOnly(logging.LoggerAdapter):
    """websockets' logger, minus its per-connection info lines."""

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.WARNING and self.logger.isEnabledFor(level)


@dataclass(eq=False)
class Client:
    """One connection, the host it comes from, whether that is the performer's, how it keeps up."""

    connection: Any
    host: str = "?"
    performer: bool = False
    dropped: int = 0
    full_since: float | None = None


def _peer(connection: Any) -> str:
    address = getattr(connection, "remote_address", None)
    return str(address[0]) if address else "?"


class WebSocketServer:
    """The listening socket and its clients; shared by a source and a sink.

    Every method runs on the engine's loop: ``open``/``close`` (from the source and sink),
    ``broadcast`` (from the sink, at each event), and one ``_serve_client`` task per connection.
    ``dropped`` counts messages not written to a full client, ``disconnected`` the clients
    dropped for staying full, ``refused`` the connections turned away.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        buffer: int = 65536,
        stall_timeout: float = 2.0,
        max_clients: int = 32,
        allowed_origins: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        control_from: ControlSources | None = None,
        per_source: int = PER_SOURCE,
    ) -> None:
        self.host, self.port = host, port
        self.allowed_origins = tuple(allowed_origins)
        self.hosts = HostNames(host, allowed_hosts)
        self.control_from = control_from or ControlSources()
        self.per_source = per_source
        self.limiter = RateLimiter()  # commands per client host
        self.guest_inputs = guest_input_limiter()  # inputs per guest host
        self.buffer, self.stall_timeout, self.max_clients = buffer, stall_timeout, max_clients
        self.clients: list[Client] = []
        self.connected: Counter[str] = Counter()  # open connections per guest host
        self.received = self.dropped = self.disconnected = self.refused = 0
        self._inbox: Inbox | None = None
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._users = 0
        self.decode: Callable[[str | bytes], list[object] | Command] = decode_message  # codec

    def __repr__(self) -> str:
        return f"WebSocketServer({self.host!r}, {self.port})"

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): the real port when configured with port 0."""
        if self._socket is None:
            raise WebSocketError("the WebSocket server is not started")
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def open(self, inbox: Inbox | None = None) -> None:
        """Bind and start serving (once for both ends); deliver inputs to ``inbox`` if given."""
        if inbox is not None:
            self._inbox = inbox
        if self._socket is not None:
            self._users += 1
            return
        from websockets.asyncio.server import serve

        self._socket = self._bind()  # raises before counting a user: opening can be retried
        self._users += 1
        handler = serve(
            self._serve_client,
            sock=self._socket,
            max_size=MAX_MESSAGE,
            compression=None,
            open_timeout=OPEN_TIMEOUT,
            create_connection=_guarded_connection(self),
            logger=_WarningsOnly(log, {}),
            process_request=self._doors,
        )
        self._task = asyncio.get_running_loop().create_task(self._start(handler))

    def _bind(self) -> socket.socket:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM
            )[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise WebSocketError(f"cannot resolve WebSocket host {self.host!r} ({exc})") from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(64)
        except OSError as exc:
            sock.close()
            raise WebSocketError(
                f"cannot listen for WebSocket on {self.host}:{self.port} ({exc.strerror})"
            ) from exc
        sock.setblocking(False)
        return sock

    def _doors(self, connection: Any, request: Any) -> Any:
        """Refuse, at the handshake, a foreign page's WebSocket (403) and a foreign Host (400):
        any web page can reach a local port, and a DNS-rebinding one under a name of its own."""
        from http import HTTPStatus

        hosts, origins = request.headers.get_all("Host"), request.headers.get_all("Origin")
        if len(hosts) != 1 or len(origins) > 1:
            return self._refuse(connection, HTTPStatus.BAD_REQUEST, "repeated Host or Origin")
        host, origin = hosts[0], origins[0] if origins else None
        if not self.hosts.allows(host):
            return self._refuse(connection, HTTPStatus.BAD_REQUEST, f"Host {str(host)[:80]!r}")
        if not origin_allowed(origin, self.allowed_origins):
            detail = f"Origin {str(origin)[:80]!r} (allow it in [websocket] allowed_origins)"
            return self._refuse(connection, HTTPStatus.FORBIDDEN, detail)
        return None

    def _refuse(self, connection: Any, status: Any, detail: str) -> Any:
        self.refused += 1
        if self._inbox is not None:
            self._inbox.on_reject("refused_client", f"WebSocket: refused a client with {detail}")
        return connection.respond(status, f"refused: {detail}\n")

    async def _start(self, handler: Any) -> None:
        self._server = await handler

    def close(self, inbox: Inbox | None = None) -> None:
        """Stop delivering to ``inbox``; the last user closes the server and every client."""
        if inbox is not None and inbox is self._inbox:
            self._inbox = None
        self._users = max(self._users - 1, 0)
        if self._users:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._server is not None:
            self._server.close()
        elif self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
        self.clients.clear()

    async def _serve_client(self, connection: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        host = _peer(connection)
        client = Client(connection, host, self.control_from.allows(host))
        full = self._no_room(client)
        if full is not None:
            self.refused += 1
            if self._inbox is not None:
                self._inbox.on_reject("refused_client", f"WebSocket: {host} refused ({full})")
            await connection.close(1013, full)
            return
        self.clients.append(client)
        try:
            async for message in connection:
                self._receive(client, message)
        except ConnectionClosed:
            pass
        finally:
            if client in self.clients:
                self.clients.remove(client)

    def admit(self, host: str) -> bool:
        """Whether a connection just accepted from ``host`` may stay (counted if so)."""
        if self.control_from.allows(host):
            return True
        guests = sum(self.connected.values())
        if self.connected[host] >= 2 * self.per_source or guests >= 2 * self.max_clients:
            self.refused += 1
            if self._inbox is not None:
                detail = f"{host} refused ({self.connected[host]} connections from it already)"
                self._inbox.on_reject("refused_client", f"WebSocket: {detail}")
            return False
        self.connected[host] += 1
        return True

    def release(self, host: str) -> None:
        """A counted connection from ``host`` has closed."""
        self.connected[host] -= 1
        if self.connected[host] <= 0:
            del self.connected[host]

    def _no_room(self, client: Client) -> str | None:
        """Why ``client`` cannot have a place (``None``: it can). The performer's hosts have
        ``max_clients`` places of their own, so no number of guests can lock them out."""
        if client.performer:
            mine = sum(c.performer for c in self.clients)
            return None if mine < self.max_clients else f"{mine} clients from the performer"
        guests = [c for c in self.clients if not c.performer]
        if len(guests) >= self.max_clients:
            return f"too many clients ({len(guests)})"
        held = sum(c.host == client.host for c in guests)
        return None if held < self.per_source else f"{held} clients from {client.host} already"

    def _receive(self, client: Client, message: str | bytes) -> None:
        self.received += 1
        inbox = self._inbox
        if inbox is None:
            return
        try:
            item = self.decode(message)
        except ControlError as exc:
            self._reject(client, inbox, "bad_command", str(exc))
        except WebSocketError as exc:
            self._reject(client, inbox, "malformed", str(exc))
        except Exception as exc:  # e.g. RecursionError from deeply nested JSON: that one only
            self._reject(client, inbox, "malformed", f"undecodable message ({type(exc).__name__})")
        else:
            if isinstance(item, list):
                self._play(client, inbox, item)
            elif not client.performer:
                allowed = self.control_from.describe()
                detail = (
                    f"a command from {client.host} refused: control is open to {allowed} "
                    "(see [osc] control_from / --control-from)"
                )
                self._reject(client, inbox, "control_refused", detail)
            elif self.limiter.allow(client.host):
                inbox.on_command(item)
            else:
                self._reject(client, inbox, "rate_limited", self.limiter.describe())

    def _play(self, client: Client, inbox: Inbox, values: list[object]) -> None:
        """A client's input: the performer's as it comes, a guest's within its host's rate."""
        if client.performer:
            inbox.on_input(values)
        elif self.guest_inputs.allow(client.host):
            inbox.on_input(values, guest=True)
        else:
            detail = f"{client.host}: {self.guest_inputs.describe('inputs')}"
            inbox.on_reject("rate_limited", f"WebSocket: {detail}")

    def _reject(self, client: Client, inbox: Inbox, kind: str, detail: str) -> None:
        inbox.on_reject(kind, f"WebSocket: {detail}")
        self._write([client], encode_error(detail))

    def broadcast(self, text: str) -> bool:
        """Write ``text`` to every client with room; whether none had to be skipped."""
        return self._write(self.clients, text)

    def _write(self, clients: Sequence[Client], text: str) -> bool:
        from websockets.asyncio.server import broadcast

        now = asyncio.get_running_loop().time()
        ready = []
        for client in list(clients):
            transport = client.connection.transport
            if transport is None or transport.is_closing():
                continue
            if transport.get_write_buffer_size() <= self.buffer:
                client.full_since = None
                ready.append(client.connection)
                continue
            client.dropped += 1
            self.dropped += 1
            if client.full_since is None:
                client.full_since = now
            elif now - client.full_since > self.stall_timeout:
                self._give_up(client, transport)
        if ready:
            broadcast(ready, text)
        return len(ready) == len(clients)

    def _give_up(self, client: Client, transport: asyncio.Transport) -> None:
        log.warning(
            "WebSocket client %s did not read for %.1f s; disconnected",
            client.connection.remote_address,
            self.stall_timeout,
        )
        self.disconnected += 1
        if client in self.clients:
            self.clients.remove(client)
        transport.abort()


def _guarded_connection(server: WebSocketServer) -> Any:
    """websockets' server connection, admitted by ``server`` as soon as it is accepted."""
    from websockets.asyncio.server import ServerConnection

    class Guarded(ServerConnection):
        counted: str | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            host = str(peer[0]) if peer else "?"
            if not server.admit(host):  # refused before the handshake: nothing logged or held
                cast(asyncio.Transport, transport).abort()
            elif not server.control_from.allows(host):
                self.counted = host

        def connection_lost(self, exc: Exception | None) -> None:
            if self.counted is not None:
                server.release(self.counted)
                self.counted = None
            super().connection_lost(exc)

    return Guarded


class WebSocketSource(Source):
    """Delivers the clients' inputs and commands (see ``WebSocketServer`` for the loop)."""

    def __init__(self, server: WebSocketServer) -> None:
        super().__init__()
        self.server = server
        self._delivering: Inbox | None = None

    def __repr__(self) -> str:
        return f"WebSocketSource({self.server.host!r}, {self.server.port})"

    def describe(self) -> str:
        server = self.server
        host, port = server.address if self.started else (server.host, server.port)
        return f"WebSocket on ws://{host}:{port}{waiting(self)}"

    def _open(self, inbox: Inbox) -> None:
        self._delivering = inbox
        self.server.open(inbox)

    def _close(self) -> None:
        self.server.close(self._delivering)
        self._delivering = None


class WebSocketSink(Sink):
    """Sends model events as ``prediction``; ``echo`` (an engine listener) sends user inputs.

    ``send`` and ``echo`` run on the engine's loop and never wait for a client. User events
    reaching ``send`` (input thru) are left to ``echo``, so each is sent once.
    """

    def __init__(self, server: WebSocketServer) -> None:
        super().__init__()
        self.server = server

    def __repr__(self) -> str:
        return f"WebSocketSink({self.server.host!r}, {self.server.port})"

    def _open(self) -> None:
        self.server.open()

    def _send(self, event: Event) -> bool:
        if event.source != "model":
            return True
        return self.server.broadcast(encode_event(event))

    def echo(self, instrument: str, event: Event) -> None:
        """An engine listener: every user input, for displays."""
        if event.source == "user" and self.started:
            self.server.broadcast(encode_event(event))

    def _close(self) -> None:
        self.server.close()
