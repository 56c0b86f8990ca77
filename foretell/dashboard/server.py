"""The dashboard server: a Starlette app (page + WebSocket) run by uvicorn on the engine's loop.

``serve_dashboard(engine, host, port, models_dir)`` is called on the engine's loop (``foretell run
--dashboard``, ``foretell demo``, tests): it binds the port at once (so a busy port fails there,
as a ``DashboardError``), starts uvicorn and the publisher as tasks on that loop and returns the
``Dashboard``; ``await dashboard.aclose()`` (or ``stop()`` then ``wait_closed()``) ends it.

Threads and waiting: everything runs on the engine's loop, so the page reads and steers the same
state the engine owns, with no locks. The engine never waits for a page:

- the engine's listener (``Publisher.on_event``) only records the event and appends one short
  JSON line to each page's ``ClientFeed``;
- ``Publisher.run`` takes a snapshot ``fps`` times a second (only while a page is connected) and
  puts the state and the expectation into each feed, where a newer frame replaces a stale one;
- one task per page drains its feed into the socket; a page that lags loses its oldest events
  (counted in ``ClientFeed.dropped``), never slows the loop.

What comes in from a page takes the engine's own paths: ``{"interface": [v, ...]}`` goes to the
instrument's ``on_input`` (the ``Inbox`` every source calls), ``{"command": VERB, "args": [...]}``
through ``parse_command`` to ``Engine.command`` (OSC's live control). ``load`` takes a file name
inside ``models_dir`` only. Invalid messages are counted as rejections and answered with
``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import deque
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from foretell.dashboard.frames import Activity, event_message, expect_message, state_message
from foretell.errors import ControlError, ForetellError
from foretell.events import Event
from foretell.model.fileformat import ModelSpec
from foretell.perform.control import Command, LoadModel, parse_command
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument
from foretell.perform.modes import MODES

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765
MODEL_SUFFIX = ".ftm"


class DashboardError(ForetellError):
    """The dashboard cannot be served (its port is busy, its host unknown)."""


def static_dir() -> Path:
    """The page's files, shipped inside the package."""
    return Path(str(resources.files("foretell.dashboard") / "static"))


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


# -- one page's outbox ----------------------------------------------------------------------------


class ClientFeed:
    """What one page has yet to receive: events in order, and the newest frame of each kind.

    Events beyond ``size`` push the oldest out; a ``state`` or ``expect`` frame replaces the one
    not yet sent. Filled on the loop by the publisher, drained by the page's sender task.
    """

    def __init__(self, size: int = 1024) -> None:
        self._events: deque[str] = deque(maxlen=size)
        self._latest: dict[str, str] = {}
        self._wake = asyncio.Event()
        self.dropped = 0

    def push(self, text: str) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(text)
        self._wake.set()

    def put_latest(self, kind: str, text: str) -> None:
        if kind in self._latest:
            self.dropped += 1
        self._latest[kind] = text
        self._wake.set()

    async def take(self) -> list[str]:
        """Wait until something is waiting, then hand all of it over (events first)."""
        await self._wake.wait()
        self._wake.clear()
        batch = [*self._events, *self._latest.values()]
        self._events.clear()
        self._latest.clear()
        return batch


# -- the publisher --------------------------------------------------------------------------------


class Publisher:
    """Streams one instrument's events and throttled frames to pages; applies what pages send.

    Call everything on the engine's loop. ``attach()`` registers the engine listener,
    ``detach()`` removes it; construction touches nothing.
    """

    def __init__(
        self,
        engine: Engine,
        instrument: str | None = None,
        models_dir: Path | None = None,
        fps: float = 30.0,
    ) -> None:
        self.engine = engine
        self.name = engine.instrument(instrument).name
        self.models_dir = models_dir
        self.fps = fps
        self.activity = Activity.create()
        self.feeds: set[ClientFeed] = set()
        self._t0: float | None = None
        self._expect_key: object = None
        self._expect_text: str | None = None

    @property
    def instrument(self) -> Instrument:
        return self.engine.instrument(self.name)

    def _spec(self) -> ModelSpec | None:
        runtime = self.instrument.runtime
        return None if runtime is None else runtime.spec

    # -- from the engine ----------------------------------------------------------------------

    def attach(self) -> None:
        self.engine.add_listener(self.on_event)

    def detach(self) -> None:
        with contextlib.suppress(ValueError):
            self.engine.remove_listener(self.on_event)

    def on_event(self, name: str, event: Event) -> None:
        """The engine's listener: record the event and queue it for every page (short)."""
        if name != self.name:
            return
        self.activity.record(event, self.engine.clock.now())
        if event.source == "model" or self.instrument.mode.condition_on_user:
            self._t0 = event.t  # the model was (or will be) fed this event: it predicts from here
        if self.feeds:
            text = _dumps(event_message(event))
            for feed in self.feeds:
                feed.push(text)

    def frame(self) -> None:
        """Put the current state (and the expectation, when it changed) into every feed."""
        snap = self.instrument.snapshot()
        spec = self._spec()
        state = _dumps(state_message(snap, spec, self.activity))
        s = snap.settings
        key = (snap.expected, s.pi_temp, s.sigma_temp, s.mode, s.paused, snap.responding, self._t0)
        fresh = key != self._expect_key
        if fresh:
            self._expect_key = key
            self._expect_text = _dumps(expect_message(spec, snap, self._t0))
        for feed in self.feeds:
            feed.put_latest("state", state)
            if fresh and self._expect_text is not None:
                feed.put_latest("expect", self._expect_text)

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

    def connect(self) -> ClientFeed:
        """A feed for a new page, primed with a greeting, the state and the expectation."""
        feed = ClientFeed()
        hello = {
            "instrument": self.name,
            "modes": list(MODES),
            "models_dir": None if self.models_dir is None else str(self.models_dir),
            "fps": self.fps,
        }
        feed.push(_dumps({"hello": hello}))
        self.feeds.add(feed)
        self._expect_key = None  # send the expectation again, to this page too
        self.frame()
        return feed

    def disconnect(self, feed: ClientFeed) -> None:
        self.feeds.discard(feed)

    def receive(self, text: str) -> str | None:
        """Apply one message from a page; returns an ``{"error": ...}`` reply or ``None``."""
        inst = self.instrument
        try:
            message = json.loads(text)
        except ValueError:
            return self._reject(inst, "malformed", f"not JSON: {text[:80]!r}")
        if isinstance(message, dict) and isinstance(message.get("interface"), list):
            inst.on_input(message["interface"])
            return None
        if isinstance(message, dict) and isinstance(message.get("command"), str):
            args = message.get("args", [])
            try:
                command = self._command(message["command"], args if isinstance(args, list) else [])
            except ControlError as exc:
                return self._reject(inst, "bad_command", str(exc))
            self.engine.command(command, self.name)
            return None
        return self._reject(inst, "malformed", f"unknown message {text[:80]!r}")

    @staticmethod
    def _reject(inst: Instrument, kind: str, detail: str) -> str:
        inst.on_reject(kind, f"dashboard: {detail}")
        return _dumps({"error": detail})

    def _command(self, verb: str, args: list[Any]) -> Command:
        if verb == "load":
            return LoadModel(self._model_path(args))
        return parse_command(verb, args)

    def _model_path(self, args: list[Any]) -> Path:
        if self.models_dir is None:
            raise ControlError("load: this dashboard has no models directory")
        if len(args) != 1 or not isinstance(args[0], str):
            raise ControlError(f"load takes one file name, got {args!r}")
        root = self.models_dir.resolve()
        path = (root / args[0]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise ControlError(f"load: {args[0]!r} is not a model file in {root}")
        return path

    def models(self) -> dict[str, Any]:
        """The model files a page may load (names relative to ``models_dir``)."""
        model = self.instrument.model_name
        current = None if model is None else Path(model).name
        if self.models_dir is None or not self.models_dir.is_dir():
            return {"dir": None, "models": [], "current": current}
        root = self.models_dir
        files = sorted({*root.glob(f"*{MODEL_SUFFIX}"), *root.glob(f"*/*{MODEL_SUFFIX}")})
        names = [p.relative_to(root).as_posix() for p in files]
        return {"dir": str(root), "models": names, "current": current}


# -- the app --------------------------------------------------------------------------------------


async def _pump(ws: WebSocket, feed: ClientFeed) -> None:
    """Drain a feed into a socket: one message, or a JSON array of them when several wait."""
    while True:
        batch = await feed.take()
        await ws.send_text(batch[0] if len(batch) == 1 else "[" + ",".join(batch) + "]")


def build_app(publisher: Publisher, static: Path | None = None) -> Starlette:
    """The Starlette app: ``/`` the page, ``/api/models`` the model files, ``/ws`` the stream."""

    async def models(request: Request) -> JSONResponse:
        return JSONResponse(publisher.models())

    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        feed = publisher.connect()
        sender = asyncio.create_task(_pump(ws, feed))
        try:
            while True:
                reply = publisher.receive(await ws.receive_text())
                if reply is not None:
                    feed.push(reply)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            publisher.disconnect(feed)
            sender.cancel()

    routes = [
        Route("/api/models", models),
        WebSocketRoute("/ws", stream),
        Mount("/", StaticFiles(directory=static or static_dir(), html=True)),
    ]
    return Starlette(routes=routes)


# -- serving --------------------------------------------------------------------------------------


class _LoopServer(uvicorn.Server):
    """uvicorn's server without its signal handlers: the host program owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family)
    except OSError as exc:
        raise DashboardError(
            f"cannot serve the dashboard on {host}:{port} ({exc.strerror or exc}); "
            "choose another port with --dashboard PORT"
        ) from exc
    sock.setblocking(False)
    return sock


class Dashboard:
    """The page's server and publisher for one engine (see the module docstring).

    Construction opens nothing; ``start()`` (on the engine's loop) binds and starts serving.
    """

    def __init__(
        self,
        engine: Engine,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        models_dir: Path | None = None,
        instrument: str | None = None,
        fps: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.publisher = Publisher(engine, instrument, models_dir, fps)
        self._sock: socket.socket | None = None
        self._server: _LoopServer | None = None
        self._serving: asyncio.Task[None] | None = None
        self._ticking: asyncio.Task[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where the page is served (the real port when started with port 0)."""
        if self._sock is None:
            return self.host, self.port
        return self.host, int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def start(self) -> Dashboard:
        loop = asyncio.get_running_loop()
        self._sock = _bind(self.host, self.port)
        config = uvicorn.Config(
            build_app(self.publisher),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _LoopServer(config)
        self.publisher.attach()
        self._serving = loop.create_task(self._server.serve(sockets=[self._sock]))
        self._ticking = loop.create_task(self.publisher.run())
        log.info("dashboard at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop publishing and ask the server to close (returns at once; idempotent)."""
        self.publisher.detach()
        if self._ticking is not None:
            self._ticking.cancel()
        if self._server is not None:
            self._server.should_exit = True

    async def wait_closed(self) -> None:
        if self._serving is not None:
            await self._serving
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
) -> Dashboard:
    """Serve the dashboard for ``engine`` (call on the engine's loop); ``aclose()`` ends it."""
    return Dashboard(engine, host, port, models_dir, instrument).start()
