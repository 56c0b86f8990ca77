"""What a stranger can hold of the dashboard's (and studio's) HTTP server: little, briefly.

``ServerGuard`` turns a connection away as it is accepted, before a byte of it is read (so before
the token check, which needs the headers): a host that is not the performer's (``control_from``,
``foretell.config.control_sources``) may hold ``per_source`` connections, all such hosts together
``total``; the performer's hosts are never turned away. A connection whose request headers are
not complete ``header_timeout`` seconds after it opened (or after its last answer) is closed: a
slowloris holds a place for that long and no longer. The server accepts ``BACKLOG`` connections
at a time, so the open files a burst of them takes before the guard sees each stay few. Between
requests uvicorn closes a connection idle for ``keep_alive`` seconds, and the kernel queues up to
``LISTEN_QUEUE`` connections not yet accepted (a burst waits there instead of being dropped, which
would cost the performer's own a second's retry). ``guarded_protocol(guard)`` is uvicorn's h11
protocol with these checks; ``refused`` counts each kind (``per_source``, ``total``,
``slow_headers``) and the first of each is told in one line.

``OneLine`` is a logging filter for the server's loggers (uvicorn's, asyncio's): a network or
resource error (``OSError``: too many open files, a reset) is told as one line without its
traceback, the same message again only at the 10th, 100th, ... time, with its count.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from foretell.config.control_sources import ControlSources

log = logging.getLogger(__name__)
PER_SOURCE = 16  # connections one guest host may hold (a browser opens about 6)
TOTAL = 256  # connections all guest hosts may hold together (well under 1,024 open files)
HEADER_TIMEOUT = 10.0  # seconds to send a request's headers
KEEP_ALIVE = 5.0  # seconds a connection may idle between requests
BACKLOG = 64  # connections accepted at one wake-up (asyncio takes up to its backlog at once,
# each holding a file before the guard sees it: 2,048, uvicorn's default, is a flood of files)
LISTEN_QUEUE = 4096  # connections the kernel queues before accepting (capped by somaxconn)
SERVER_LOGGERS = ("uvicorn.error", "asyncio")


@dataclass
class ServerGuard:
    """The caps and timeouts of one server (see the module docstring)."""

    control_from: ControlSources = field(default_factory=ControlSources)
    per_source: int = PER_SOURCE
    total: int = TOTAL
    header_timeout: float = HEADER_TIMEOUT
    refused: Counter[str] = field(default_factory=Counter)

    def admit(self, host: str, connections: Any) -> str | None:
        """Why a new connection from ``host`` is turned away (``None``: it is let in), given the
        server's open ``connections`` (uvicorn's protocols, each with its ``client``)."""
        if self.control_from.allows(host):
            return None
        guests = [c for c in connections if not self.control_from.allows(_host_of(c))]
        if len(guests) >= self.total:
            return "total"
        if sum(_host_of(c) == host for c in guests) >= self.per_source:
            return "per_source"
        return None

    def count(self, kind: str, host: str) -> None:
        self.refused[kind] += 1
        if self.refused[kind] == 1:
            log.warning(
                "dashboard: a connection from %s closed (%s); further ones are counted, not told",
                host,
                DESCRIPTIONS[kind].format(self),
            )


DESCRIPTIONS = {
    "per_source": "more than {0.per_source} from one host",
    "total": "more than {0.total} from other hosts than the performer's",
    "slow_headers": "no complete request headers within {0.header_timeout:g} s",
}


def _host_of(connection: Any) -> str:
    client = getattr(connection, "client", None)
    return str(client[0]) if client else "?"


def guarded_protocol(guard: ServerGuard) -> type[H11Protocol]:
    """uvicorn's h11 protocol, turning connections away and timing their headers by ``guard``."""

    class Guarded(H11Protocol):
        _refused = False
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            host = str(peer[0]) if peer else "?"
            kind = guard.admit(host, self.connections)
            if kind is not None:
                self._refused = True
                guard.count(kind, host)
                transport.abort()
                return
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # its headers are complete
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(guard.header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            guard.count("slow_headers", _host_of(self))
            self.transport.abort()

    return Guarded


class OneLine(logging.Filter):
    """Network and resource errors as one line each, repeats only counted (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and record.levelno < logging.WARNING:
            return True
        if exc is not None and not isinstance(exc, OSError):
            return True
        message = record.getMessage()
        if exc is not None:
            message = f"{message} ({type(exc).__name__}: {exc})"
            record.msg, record.args, record.exc_info, record.exc_text = message, (), None, None
        self.seen[message] += 1
        count = self.seen[message]
        if count > 1:
            record.msg, record.args = f"{message} ({count} times)", ()
        return _is_power_of_ten(count)


def _is_power_of_ten(n: int) -> bool:
    while n % 10 == 0 and n > 1:
        n //= 10
    return n == 1


_installed: OneLine | None = None


def quiet_server_logs() -> OneLine:
    """Install ``OneLine`` on the server's loggers (once per process) and return it."""
    global _installed
    if _installed is None:
        _installed = OneLine()
        for name in SERVER_LOGGERS:
            logging.getLogger(name).addFilter(_installed)
    return _installed
