"""uvicorn on a thread and asyncio loop of its own (``ServerThread``), bound at once
(``bind``: a busy port fails there, as a ``DashboardError``): the dashboard's and the studio's
server, never on the show's loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from foretell.dashboard.guard import LISTEN_QUEUE
from foretell.errors import ForetellError

log = logging.getLogger(__name__)


class DashboardError(ForetellError):
    """The dashboard cannot be served (its port is busy, its host unknown)."""


# -- serving --------------------------------------------------------------------------------------


class LoopServer(uvicorn.Server):
    """uvicorn's server without its signal handlers: the host program owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start, then let the kernel queue ``LISTEN_QUEUE`` connections (asyncio listens with
        the small ``backlog`` it also accepts at once)."""
        await super().startup(sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_QUEUE)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise DashboardError(
            f"cannot serve the page on {host}:{port} ({exc.strerror or exc}); choose another port"
        ) from exc
    sock.setblocking(False)
    return sock


class ServerThread:
    """uvicorn serving one bound socket on a thread and asyncio loop of its own, so that no
    request, however slow, runs where the show runs. ``beside`` (the publisher's ``run``) runs
    on that loop while it serves; ``on_close`` (the studio's ``aclose``) is awaited there as the
    server ends."""

    def __init__(
        self,
        server: uvicorn.Server,
        sock: socket.socket,
        on_close: Callable[[], Awaitable[None]] | None = None,
        beside: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.server = server
        self.sock = sock
        self.on_close = on_close
        self.beside = beside
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="foretell-server", daemon=True)
        self._started = threading.Event()
        self._ended: concurrent.futures.Future[None] = concurrent.futures.Future()

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def _main(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # under --realtime: not the server
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            log.warning("the dashboard's server ended: %s", exc)
            self._ended.set_exception(exc)
        else:
            self._ended.set_result(None)

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._started.set()
        beside = None if self.beside is None else asyncio.create_task(_logged(self.beside()))
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            if beside is not None:
                beside.cancel()
            if self.on_close is not None:
                await self.on_close()

    def stop(self) -> None:
        """Ask the server to close (returns at once; idempotent)."""
        self.server.should_exit = True

    async def wait_closed(self) -> None:
        """Wait, on any loop, until the server's thread has ended."""
        await asyncio.wrap_future(self._ended)


async def _logged(work: Awaitable[None]) -> None:
    """``work`` until it ends or is cancelled; what ends it otherwise is logged in one line."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("the dashboard's publisher stopped: %s", exc)
