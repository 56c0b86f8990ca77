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

- the engine's listener (``Publisher.on_event``) only records the event and appends one short
  JSON line to each page's ``ClientFeed`` (thread-safe; it wakes the page's sender on the
  server's loop);
- ``Publisher.run`` takes a snapshot ``fps`` times a second (only while a page is connected) and
  puts the state and the expectation into each feed, where a newer frame replaces a stale one;
- one task per page, on the server's loop, drains its feed into the socket; a page that lags
  loses its oldest events (counted in ``ClientFeed.dropped``), never slows the show.

Ensembles: one publisher serves every instrument of the engine. Events then carry their
instrument's name; each page looks at one instrument (``ClientFeed.focus``, changed with
``{"select": NAME}``) whose full state and expectation it gets, and every frame adds one
``ensemble`` message with a compact state of all instruments (one strip each on the page).
A single instrument's messages are exactly those without the names.

What comes in from a page takes the engine's own paths: ``{"interface": [v, ...]}`` goes to the
instrument's ``on_input`` (the ``Inbox`` every source calls), ``{"command": VERB, "args": [...]}``
through ``parse_command`` to ``Engine.command`` (OSC's live control, ``/foretell/NAME/VERB``).
Either may name its ``"instrument"``; without one it goes to the instrument the page looks at.
``load`` takes a file name inside ``models_dir`` only; ``panic`` is ``Engine.panic`` (every
instrument paused and reset, every output silenced). The pad's inputs are stamped ``pad``.
Invalid messages are counted as rejections and answered with ``{"error": "..."}``. A page on a
host that is not the performer's (``control_from``, as for OSC) may play the pad (a guest's
inputs, at a guest's rate) and watch, but its commands are refused.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import mimetypes
import os
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from foretell.commands import Command, parse_command
from foretell.config.control_sources import ControlSources
from foretell.dashboard.doors import Doors, is_loopback, new_token
from foretell.dashboard.frames import (
    Activity,
    ensemble_message,
    event_message,
    expect_message,
    settings_message,
    state_message,
    strip_state,
)
from foretell.dashboard.guard import (
    BACKLOG,
    KEEP_ALIVE,
    LISTEN_QUEUE,
    ServerGuard,
    guarded_protocol,
    quiet_server_logs,
)
from foretell.errors import ControlError, ForetellError
from foretell.events import Event
from foretell.io.origins import WILDCARDS
from foretell.io.rate_limit import guest_input_limiter
from foretell.modes import MODES
from foretell.names import MODEL_SUFFIX
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument
from foretell.perform.show_loop import ShowLoop

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765


class DashboardError(ForetellError):
    """The dashboard cannot be served (its port is busy, its host unknown)."""


def static_dir() -> Path:
    """The page's files, shipped inside the package (``shared/`` in it: the studio's too)."""
    return Path(str(resources.files("foretell.dashboard") / "static"))


# The pages are ES modules, which a browser runs only when served with a JavaScript type; some
# systems map ".js" to text/plain (Windows, from its registry), so the type is set here.
mimetypes.add_type("text/javascript", ".js")


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


# -- one page's outbox ----------------------------------------------------------------------------


class ClientFeed:
    """What one page has yet to receive: events in order, and the newest frame of each kind.

    Events beyond ``size`` push the oldest out; a ``state``, ``expect`` or ``ensemble`` frame
    replaces the one not yet sent. Filled on the engine's loop by the publisher (and with
    replies on the server's), drained by the page's sender task on ``loop``, the server's:
    a lock guards the contents and the first item after a drain wakes the sender. ``focus`` is
    the instrument the page looks at (its state and expectation come here); ``expect_key``
    what the last expectation sent was computed from.
    """

    def __init__(
        self,
        size: int = 1024,
        focus: str = "",
        loop: asyncio.AbstractEventLoop | None = None,
        host: str = "127.0.0.1",
        performer: bool = True,
    ) -> None:
        self.host, self.performer = host, performer
        self._events: deque[str] = deque(maxlen=size)
        self._latest: dict[str, str] = {}
        self._lock = threading.Lock()
        self._loop = loop
        self._wake = asyncio.Event()
        self._woken = False
        self.dropped = 0
        self.focus = focus
        self.expect_key: object = None

    def push(self, text: str) -> None:
        with self._lock:
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(text)
        self._signal()

    def put_latest(self, kind: str, text: str) -> None:
        with self._lock:
            if kind in self._latest:
                self.dropped += 1
            self._latest[kind] = text
        self._signal()

    def _signal(self) -> None:
        """Wake the sender once per drain, from whichever thread filled the feed."""
        with self._lock:
            if self._woken:
                return
            self._woken = True
        if self._loop is None:
            self._wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the server's loop has closed
            self._loop.call_soon_threadsafe(self._wake.set)

    async def take(self) -> list[str]:
        """Wait until something is waiting, then hand all of it over (events first)."""
        await self._wake.wait()
        self._wake.clear()
        with self._lock:
            self._woken = False
            batch = [*self._events, *self._latest.values()]
            self._events.clear()
            self._latest.clear()
        return batch


# -- the publisher --------------------------------------------------------------------------------


@dataclass
class Track:
    """What the publisher keeps per instrument: its activity and its latest expectation."""

    activity: Activity = field(default_factory=Activity.create)
    t0: float | None = None  # the event the model's next prediction counts from
    expect_key: object = None
    expect_text: str = ""


class Publisher:
    """Streams every instrument's events and throttled frames to pages; applies what pages send.

    ``instrument`` names the one a new page looks at first (default: the engine's first); in an
    ensemble a page may look at another (``{"select": NAME}``) and steer any. Call everything on
    the engine's loop. ``attach()`` registers the engine listener, ``detach()`` removes it;
    construction touches nothing.
    """

    def __init__(
        self,
        engine: Engine,
        instrument: str | None = None,
        models_dir: Path | None = None,
        fps: float = 30.0,
        presets: dict[str, dict[str, float]] | None = None,
        control_from: ControlSources | None = None,
    ) -> None:
        self.engine = engine
        self.control_from = control_from or ControlSources()
        self.guest_inputs = guest_input_limiter()
        self.presets = presets or {}
        self.name = engine.instrument(instrument).name
        self.models_dir = models_dir
        self.fps = fps
        self.tracks = {name: Track() for name in engine.instruments}
        self.ensemble = len(self.tracks) > 1
        self.feeds: set[ClientFeed] = set()
        self._settings = _dumps(settings_message())  # the same for every page

    @property
    def instrument(self) -> Instrument:
        """The instrument a new page looks at."""
        return self.engine.instrument(self.name)

    @property
    def activity(self) -> Activity:
        return self.tracks[self.name].activity

    # -- from the engine ----------------------------------------------------------------------

    def attach(self) -> None:
        self.engine.add_listener(self.on_event)

    def detach(self) -> None:
        with contextlib.suppress(ValueError):
            self.engine.remove_listener(self.on_event)

    def on_event(self, name: str, event: Event) -> None:
        """The engine's listener: record the event and queue it for every page (short)."""
        track = self.tracks.get(name)
        if track is None:
            return
        track.activity.record(event, self.engine.clock.now())
        if event.source == "model" or self.engine.instrument(name).mode.condition_on_user:
            track.t0 = event.t  # the model was (or will be) fed this event: it predicts from here
        if self.feeds:
            text = _dumps(event_message(event, name if self.ensemble else None))
            for feed in self.feeds:
                feed.push(text)

    def frame(self, feeds: Iterable[ClientFeed] | None = None) -> None:
        """Put the current frames into ``feeds`` (default: every page's).

        Each page gets the state of the instrument it looks at, the expectation when it changed,
        and in an ensemble the strips of all; each is built once per call, however many pages.
        """
        feeds = list(self.feeds if feeds is None else feeds)
        focused: dict[str, tuple[str, object, str]] = {}
        for feed in feeds:
            if feed.focus not in focused:
                focused[feed.focus] = self._focus_frames(feed.focus)
            state, key, expect = focused[feed.focus]
            feed.put_latest("state", state)
            if key != feed.expect_key:
                feed.expect_key = key
                feed.put_latest("expect", expect)
        if self.ensemble and feeds:
            strips = _dumps(self._ensemble())
            for feed in feeds:
                feed.put_latest("ensemble", strips)

    def _focus_frames(self, name: str) -> tuple[str, object, str]:
        """``name``'s state, what its expectation depends on, and that expectation (cached)."""
        inst, track = self.engine.instrument(name), self.tracks[name]
        snap = self.engine.instrument_snapshot(name)
        model = None if inst.runtime is None else inst.runtime.model
        state = _dumps(state_message(snap, model, track.activity))
        s = snap.settings
        key = (
            name,
            snap.expected,
            s.pi_temp,
            s.sigma_temp,
            s.activity_temp,
            s.mode,
            s.paused,
            snap.responding,
            track.t0,
        )
        if key != track.expect_key:
            track.expect_key = key
            track.expect_text = _dumps(expect_message(model, snap, track.t0))
        return state, key, track.expect_text

    def _ensemble(self) -> dict[str, Any]:
        snaps = [self.engine.instrument_snapshot(name) for name in self.engine.instruments]
        strips = [strip_state(snap, self.tracks[snap.name].activity) for snap in snaps]
        return ensemble_message(self.engine.clock.now(), strips)

    async def run(self) -> None:
        """Send frames ``fps`` times a second while any page is connected (until cancelled)."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.fps
        due = loop.time()
        while True:
            if self.feeds:
                self.frame()
            due = max(due + period, loop.time())
            await asyncio.sleep(due - loop.time())

    # -- pages --------------------------------------------------------------------------------

    def connect(
        self, host: str = "127.0.0.1", loop: asyncio.AbstractEventLoop | None = None
    ) -> ClientFeed:
        """A feed for a new page on ``host``, primed with a greeting, the live settings' ranges
        (``settings_message``) and the frames (looking at ``name``), drained on ``loop`` (the
        server's; default: this one)."""
        performer = self.control_from.allows(host)
        feed = ClientFeed(512 * (1 + len(self.tracks)), self.name, loop, host, performer)
        hello = {
            "instrument": self.name,
            "instruments": list(self.tracks),
            "modes": list(MODES),
            "models_dir": None if self.models_dir is None else str(self.models_dir),
            "fps": self.fps,
            "presets": self.presets,
        }
        feed.push(_dumps({"hello": hello}))
        feed.push(self._settings)
        self.feeds.add(feed)
        self.frame([feed])
        return feed

    def disconnect(self, feed: ClientFeed) -> None:
        self.feeds.discard(feed)

    def receive(self, text: str, feed: ClientFeed | None = None) -> str | None:
        """Apply one message from a page; returns an ``{"error": ...}`` reply or ``None``.

        A message may name its ``instrument``; otherwise it is for the one ``feed`` looks at.
        """
        focus = self.name if feed is None else feed.focus
        try:
            message = json.loads(text)
        except ValueError:
            return self._reject(focus, "malformed", f"not JSON: {text[:80]!r}")
        if not isinstance(message, dict):
            return self._reject(focus, "malformed", f"unknown message {text[:80]!r}")
        name = message.get("select", message.get("instrument", focus))
        if not isinstance(name, str) or name not in self.tracks:
            return self._reject(focus, "malformed", f"no instrument {name!r}")
        if "select" in message and feed is not None:
            feed.focus = name
            self.frame([feed])
            return None
        inst = self.engine.instrument(name)
        guest = feed is not None and not feed.performer
        if isinstance(message.get("interface"), list):
            if not guest:
                inst.on_input(message["interface"], origin="pad")
            elif self.guest_inputs.allow(feed.host if feed else "?"):
                inst.on_input(message["interface"], origin="pad", guest=True)
            else:
                return self._reject(name, "rate_limited", self.guest_inputs.describe("inputs"))
            return None
        if guest and "command" in message:
            assert feed is not None
            detail = (
                f"a command from {feed.host} refused: control is open to "
                f"{self.control_from.describe()} (see [osc] control_from / --control-from)"
            )
            return self._reject(name, "control_refused", detail)
        if message.get("command") == "panic":
            self.engine.panic()
            return None
        if isinstance(message.get("command"), str):
            args = message.get("args", [])
            try:
                command = self._command(message["command"], args if isinstance(args, list) else [])
            except ControlError as exc:
                return self._reject(name, "bad_command", str(exc))
            self.engine.command(command, name)
            return None
        return self._reject(name, "malformed", f"unknown message {text[:80]!r}")

    def _reject(self, name: str, kind: str, detail: str) -> str:
        self.engine.instrument(name).on_reject(kind, f"dashboard: {detail}")
        return _dumps({"error": detail})

    def _command(self, verb: str, args: list[Any]) -> Command:
        """``load NAME`` names a file of the models folder; the instrument resolves it there."""
        return parse_command(verb, args)

    def playing(self, instrument: str | None = None) -> str | None:
        """The file name ``instrument`` plays (default: the one a new page looks at)."""
        name = instrument if instrument in self.tracks else self.name
        model = self.engine.instrument(name).model_name
        return None if model is None else Path(model).name


def loadable(models_dir: Path | None, current: str | None) -> dict[str, Any]:
    """The model files a page may load (names relative to ``models_dir``); ``current`` the one
    playing. Reads the folder: call off the show's loop."""
    if models_dir is None or not models_dir.is_dir():
        return {"dir": None, "models": [], "current": current}
    root = models_dir
    files = sorted({*root.glob(f"*{MODEL_SUFFIX}"), *root.glob(f"*/*{MODEL_SUFFIX}")})
    names = [p.relative_to(root).as_posix() for p in files]
    return {"dir": str(root), "models": names, "current": current}


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
                reply = await show(publisher.receive, await ws.receive_text(), feed)
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


# -- serving --------------------------------------------------------------------------------------


class _LoopServer(uvicorn.Server):
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


def _bind(host: str, port: int) -> socket.socket:
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
    request, however slow, runs where the show runs. ``on_close`` (the studio's ``aclose``) is
    awaited on that loop as the server ends."""

    def __init__(
        self,
        server: uvicorn.Server,
        sock: socket.socket,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.server = server
        self.sock = sock
        self.on_close = on_close
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
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            if self.on_close is not None:
                await self.on_close()

    def stop(self) -> None:
        """Ask the server to close (returns at once; idempotent)."""
        self.server.should_exit = True

    async def wait_closed(self) -> None:
        """Wait, on any loop, until the server's thread has ended."""
        await asyncio.wrap_future(self._ended)


class Dashboard:
    """The page's server and publisher for one engine (see the module docstring).

    Construction opens nothing; ``start()`` (on the engine's loop) binds and starts serving, on
    a thread and loop of its own (``ServerThread``); the publisher stays on the engine's loop.
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
        self._ticking: asyncio.Task[None] | None = None

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
        """Bind, start the publisher on this loop (the engine's) and the server on its thread."""
        loop = asyncio.get_running_loop()
        self._sock = _bind(self.host, self.port)
        app = build_app(self.publisher, ShowLoop(loop), routes=self.routes)
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
        )
        self.publisher.attach()
        self._ticking = loop.create_task(self.publisher.run())
        self._server = ServerThread(_LoopServer(config), self._sock, self.on_close)
        self._server.start()
        log.debug("dashboard at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop publishing and ask the server to close (returns at once; idempotent)."""
        self.publisher.detach()
        if self._ticking is not None:
            self._ticking.cancel()
        if self._server is not None:
            self._server.stop()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
        if self._ticking is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticking

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
