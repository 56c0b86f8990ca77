"""The dashboard server: a Starlette app (page + WebSocket) run by uvicorn beside the engine.

``serve_dashboard(engine, host, port, models_dir)`` is called on the engine's loop (``foretell run
--dashboard``, ``foretell demo``, tests): it binds the port at once (so a busy port fails there,
as a ``DashboardError``), starts the publisher on that loop and uvicorn on a thread and loop of
its own (``ServerThread``), and returns the ``Dashboard``; ``await dashboard.aclose()`` (or
``stop()`` then ``wait_closed()``) ends it.

Strangers: connections are capped per host and in all, and their headers timed, as they are
accepted (``foretell.dashboard.guard``: before the token check, which needs the headers).

Threads and waiting: the show's loop runs the engine and nothing else of the server. Requests
are answered on the server's loop; whatever they read of the engine or ask of it crosses over
through ``ShowLoop`` (a short call between events). The engine never waits for a page:

- the engine's listener (``Publisher.on_event``) only hands the event (immutable) to the
  server's loop (``Handoff``: thread-safe, bounded, one wake-up per batch);
- ``Publisher.run``, on the server's loop, records the events into the activity windows and
  turns them into JSON for each page's ``ClientFeed``, and ``fps`` times a second (only while a
  page is connected) asks the show's loop for a ``Scene`` (copies of the instruments' state,
  a short call) and builds and serialises the state, expectation and ensemble frames from it
  there, where a newer frame replaces a stale one in each feed;
- one task per page, on the server's loop, drains its feed into the socket; a page that lags
  loses its oldest events (counted in ``ClientFeed.dropped``), never slows the show.

Ensembles: one publisher serves every instrument of the engine. Events then carry their
instrument's name; each page looks at one instrument (``ClientFeed.focus``, changed with
``{"select": NAME}``) whose full state and expectation it gets, and every frame adds one
``ensemble`` message with a compact state of all instruments (one strip each on the page).
A single instrument's messages are exactly those without the names.

What comes in from a page (at most ``MAX_PAGE_MESSAGE`` bytes a message; a bigger one closes
the socket unread) is parsed on the server's loop (``read_page_message``) and applied on the
show's (``Publisher.apply``), where it takes the engine's own paths: ``{"interface": [v, ...]}``
goes to the instrument's ``on_input`` (the ``Inbox`` every source calls), ``{"command": VERB,
"args": [...]}`` through ``parse_command`` to ``Engine.command`` (OSC's live control,
``/foretell/NAME/VERB``). Either may name its ``"instrument"``; without one it goes to the
instrument the page looks at.
``load`` takes a file name inside ``models_dir`` only; ``panic`` is ``Engine.panic`` (every
instrument paused and reset, every output silenced). The pad's inputs are stamped ``pad``.
Invalid messages are counted as rejections and answered with ``{"error": "..."}``. A page on a
host that is not the performer's (``control_from``, as for OSC) may play the pad (a guest's
inputs, at a guest's rate) and watch, but its commands are refused.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import socket
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from foretell.config.control_sources import ControlSources
from foretell.dashboard.doors import Doors, is_loopback, new_token
from foretell.dashboard.feeds import ClientFeed
from foretell.dashboard.guard import (
    BACKLOG,
    KEEP_ALIVE,
    ServerGuard,
    guarded_protocol,
    quiet_server_logs,
)
from foretell.dashboard.publisher import MAX_PAGE_MESSAGE, Publisher, loadable, read_page_message
from foretell.dashboard.serving import DashboardError, LoopServer, ServerThread, bind
from foretell.io.origins import WILDCARDS
from foretell.perform.engine import Engine
from foretell.perform.show_loop import ShowLoop

__all__ = ["Dashboard", "DashboardError", "lan_address", "loadable", "qr_text", "serve_dashboard"]

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765


def static_dir() -> Path:
    """The page's files, shipped inside the package (``shared/`` in it: the studio's too)."""
    return Path(str(resources.files("foretell.dashboard") / "static"))


# The pages are ES modules, which a browser runs only when served with a JavaScript type; some
# systems map ".js" to text/plain (Windows, from its registry), so the type is set here.
mimetypes.add_type("text/javascript", ".js")


# -- the app --------------------------------------------------------------------------------------


async def _pump(ws: WebSocket, feed: ClientFeed) -> None:
    """Drain a feed into a socket: one message, or a JSON array of them when several wait."""
    while True:
        batch = await feed.take()
        await ws.send_text(batch[0] if len(batch) == 1 else "[" + ",".join(batch) + "]")


def build_app(
    publisher: Publisher,
    show: ShowLoop,
    static: Path | None = None,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The Starlette app: ``/`` the page, ``/api/loadable`` the model files it may load, ``/ws``
    the stream; ``routes`` (the studio's) come before the page's files. It runs on the server's
    loop; whatever touches the engine goes through ``show``."""

    async def models(request: Request) -> JSONResponse:
        current = await show(publisher.playing, request.query_params.get("instrument"))
        return JSONResponse(loadable(publisher.models_dir, current))

    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        host = ws.client.host if ws.client else "?"
        feed = await show(publisher.connect, host, asyncio.get_running_loop())
        sender = asyncio.create_task(_pump(ws, feed))
        try:
            while True:
                message = read_page_message(await ws.receive_text())  # read here, not there
                reply = await show(publisher.apply, message, feed)
                if reply is not None:
                    feed.push(reply)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            show.soon(publisher.disconnect, feed)
            sender.cancel()

    return Starlette(
        routes=[
            Route("/api/loadable", models),
            WebSocketRoute("/ws", stream),
            *routes,
            Mount("/", StaticFiles(directory=static or static_dir(), html=True)),
        ]
    )


class Dashboard:
    """The page's server and publisher for one engine (see the module docstring).

    Construction opens nothing; ``start()`` (on the engine's loop) binds and starts serving, on
    a thread and loop of its own (``ServerThread``), where the publisher builds its messages;
    the engine's loop only hands it events and snapshots.
    """

    def __init__(
        self,
        engine: Engine,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        models_dir: Path | None = None,
        instrument: str | None = None,
        fps: float = 30.0,
        names: Sequence[str] = (),
        token: str | None = None,
        presets: dict[str, dict[str, float]] | None = None,
        routes: Sequence[BaseRoute] = (),
        on_close: Callable[[], Awaitable[None]] | None = None,
        control_from: ControlSources | None = None,
    ) -> None:
        self.host = host
        self.routes = tuple(routes)
        self.port = port
        self.control_from = control_from or ControlSources()
        self.publisher = Publisher(engine, instrument, models_dir, fps, presets, self.control_from)
        self.guard = ServerGuard(self.control_from)
        self.names = tuple(names)
        self.token = token if token is not None or is_loopback(host) else new_token()
        self.on_close = on_close
        self.doors: Doors | None = None
        self._sock: socket.socket | None = None
        self._server: ServerThread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where the page is served (the real port when started with port 0)."""
        if self._sock is None:
            return self.host, self.port
        return self.host, int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """The page's address; on a LAN bind the address others reach, with the token."""
        return self.url_of("")

    def url_of(self, path: str) -> str:
        """The address of ``path`` on this server (e.g. ``studio/``), with the token if any."""
        host, port = self.address
        if host in WILDCARDS:
            host = lan_address()
        query = "" if self.token is None else f"?token={self.token}"
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/{path}{query}"

    def banner(self, page: str = "dashboard", path: str = "") -> list[str]:
        """What the terminal shows: the address of ``page`` (at ``path``), and on a LAN bind its
        QR code and who may come."""
        url = self.url_of(path)
        lines = [f"foretell: {page} at {url}"]
        if self.token is not None:
            lines.append("foretell: open it on a phone on this network (scan the code):")
            lines.append(qr_text(url))
        return lines

    def start(self) -> Dashboard:
        """Bind, attach the publisher to the engine (call on its loop) and start the server and
        the publisher on their thread."""
        show = ShowLoop.here()
        self._sock = bind(self.host, self.port)
        app = build_app(self.publisher, show, routes=self.routes)
        self.doors = Doors(app, self.host, self.names, self.token)
        quiet_server_logs()
        config = uvicorn.Config(
            self.doors,
            http=guarded_protocol(self.guard),
            timeout_keep_alive=int(KEEP_ALIVE),
            backlog=BACKLOG,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            ws_max_size=MAX_PAGE_MESSAGE,
        )
        self.publisher.attach()
        beside = lambda: self.publisher.run(show)  # noqa: E731
        self._server = ServerThread(LoopServer(config), self._sock, self.on_close, beside)
        self._server.start()
        log.debug("dashboard at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop publishing and ask the server to close (returns at once; idempotent)."""
        self.publisher.detach()
        if self._server is not None:
            self._server.stop()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    async def aclose(self) -> None:
        self.stop()
        await self.wait_closed()


def serve_dashboard(
    engine: Engine,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    models_dir: Path | None = None,
    instrument: str | None = None,
    names: Sequence[str] = (),
    presets: dict[str, dict[str, float]] | None = None,
    routes: Sequence[BaseRoute] = (),
    on_close: Callable[[], Awaitable[None]] | None = None,
    control_from: ControlSources | None = None,
) -> Dashboard:
    """Serve the dashboard for ``engine`` (call on the engine's loop); ``aclose()`` ends it.

    Bound beyond loopback it needs a per-run token (in ``url``); ``names`` are further host
    names it answers to (e.g. ``stage.local``); ``presets`` the named sampling settings every
    page offers (``[[dashboard.preset]]``); ``routes`` more of the app's (the studio's);
    ``control_from`` the performer's hosts, whose pages may steer (default: this machine).
    """
    dashboard = Dashboard(
        engine,
        host,
        port,
        models_dir,
        instrument,
        names=names,
        presets=presets,
        routes=routes,
        on_close=on_close,
        control_from=control_from,
    )
    return dashboard.start()


def lan_address() -> str:
    """This machine's address on its default route (no packet is sent); loopback without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def qr_text(text: str) -> str:
    """``text`` as a QR code in terminal characters (two modules per character row)."""
    import io

    import segno

    out = io.StringIO()
    segno.make(text, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")
