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
from foretell.model.protocol import Model
from foretell.modes import MODES
from foretell.names import MODEL_SUFFIX
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, InstrumentSnapshot
from foretell.perform.show_loop import ShowLoop

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765
MAX_PAGE_MESSAGE = 64 << 10  # bytes of one WebSocket message from a page (a pad input is ~60)


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


# -- from the show's loop to the server's --------------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """One event the engine published, as the show's loop hands it over."""

    instrument: str
    event: Event
    now: float  # the engine's clock when it was played or heard


class Handoff:
    """Events handed from the show's loop to the server's.

    ``put`` (on the show's loop) appends and, asked to, wakes ``wait`` (on the server's) once per
    ``take``; beyond ``size`` waiting the oldest are dropped (counted in ``dropped``): a stalled
    server costs the show nothing. Without a bound loop (``bind``) nothing is woken: ``take``
    when you like.
    """

    def __init__(self, size: int = 8192) -> None:
        self._items: deque[Heard] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._woken = False
        self.dropped = 0

    def bind(self) -> None:
        """Wake ``wait`` on the running loop (the server's) from now on."""
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def put(self, item: Heard, wake: bool = True) -> None:
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)
            if not wake or self._woken or self._loop is None:
                return
            self._woken = True
            loop, event = self._loop, self._wake
        with contextlib.suppress(RuntimeError):  # the server's loop has closed
            loop.call_soon_threadsafe(event.set)

    def take(self) -> list[Heard]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._woken = False
        return items

    async def wait(self) -> None:
        await self._wake.wait()
        self._wake.clear()


@dataclass(frozen=True)
class Scene:
    """Every instrument as the show's loop saw it for one frame: built there (``Publisher.scene``,
    copies only), turned into messages on the server's loop. The models are read, never changed:
    a hot swap replaces an instrument's model, it does not alter the one here."""

    now: float
    snaps: dict[str, InstrumentSnapshot]
    models: dict[str, Model | None]
    t0: dict[str, float | None]  # the event each model's next prediction counts from


# -- the publisher --------------------------------------------------------------------------------


@dataclass
class Track:
    """What the publisher keeps per instrument on the server's loop: its activity and its latest
    expectation."""

    activity: Activity = field(default_factory=Activity.create)
    expect_key: object = None
    expect_text: str = ""


class Publisher:
    """Streams every instrument's events and throttled frames to pages; applies what pages send.

    ``instrument`` names the one a new page looks at first (default: the engine's first); in an
    ensemble a page may look at another (``{"select": NAME}``) and steer any. Two halves:

    - on the engine's loop, only copies: ``on_event`` (the engine's listener, registered by
      ``attach()``, removed by ``detach()``) hands each event over (``Handoff``), ``scene()``
      copies the instruments' state; ``connect``, ``disconnect`` and ``receive`` run there too;
    - on the server's loop, everything else: ``run`` (``publish_events``, ``publish_frames``)
      keeps the activity windows and builds and serialises every message.

    ``frame()`` does both halves on the calling thread (tests, a hand-stepped engine).
    Construction touches nothing.
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
        self.feeds: frozenset[ClientFeed] = frozenset()  # replaced whole, read from either loop
        self.inbox = Handoff()
        self._t0: dict[str, float | None] = dict.fromkeys(self.tracks)
        self._settings = _dumps(settings_message())  # the same for every page

    @property
    def instrument(self) -> Instrument:
        """The instrument a new page looks at."""
        return self.engine.instrument(self.name)

    @property
    def activity(self) -> Activity:
        return self.tracks[self.name].activity

    # -- on the engine's loop: copies only ----------------------------------------------------

    def attach(self) -> None:
        self.engine.add_listener(self.on_event)

    def detach(self) -> None:
        with contextlib.suppress(ValueError):
            self.engine.remove_listener(self.on_event)

    def on_event(self, name: str, event: Event) -> None:
        """The engine's listener: note where the model predicts from and hand the event over."""
        if name not in self._t0:
            return
        if event.source == "model" or self.engine.instrument(name).mode.condition_on_user:
            self._t0[name] = event.t  # the model was (or will be) fed this event
        # with no page to send it to, the server's thread is not woken: it takes it at its tick
        self.inbox.put(Heard(name, event, self.engine.clock.now()), wake=bool(self.feeds))

    def scene(self) -> Scene:
        """Every instrument's snapshot and model, for one frame."""
        names = list(self.engine.instruments)
        runtimes = {name: self.engine.instrument(name).runtime for name in names}
        return Scene(
            now=self.engine.clock.now(),
            snaps={name: self.engine.instrument_snapshot(name) for name in names},
            models={name: None if rt is None else rt.model for name, rt in runtimes.items()},
            t0=dict(self._t0),
        )

    # -- on the server's loop: messages -------------------------------------------------------

    def publish_events(self) -> None:
        """Record what was handed over into the activity windows and queue it for every page."""
        feeds = self.feeds
        for heard in self.inbox.take():
            track = self.tracks[heard.instrument]
            track.activity.record(heard.event, heard.now)
            if feeds:
                name = heard.instrument if self.ensemble else None
                text = _dumps(event_message(heard.event, name))
                for feed in feeds:
                    feed.push(text)

    def publish_frames(self, scene: Scene, feeds: Iterable[ClientFeed] | None = None) -> None:
        """Put ``scene``'s frames into ``feeds`` (default: every page's), the events up to it
        first.

        Each page gets the state of the instrument it looks at, the expectation when it changed,
        and in an ensemble the strips of all; each is built once per call, however many pages.
        """
        self.publish_events()
        feeds = list(self.feeds if feeds is None else feeds)
        focused: dict[str, tuple[str, object, str]] = {}
        for feed in feeds:
            focus = feed.focus
            if focus not in focused:
                focused[focus] = self._focus_frames(scene, focus)
            state, key, expect = focused[focus]
            feed.put_latest("state", state)
            if key != feed.expect_key:
                feed.expect_key = key
                feed.put_latest("expect", expect)
        if self.ensemble and feeds:
            strips = [
                strip_state(snap, self.tracks[name].activity) for name, snap in scene.snaps.items()
            ]
            text = _dumps(ensemble_message(scene.now, strips))
            for feed in feeds:
                feed.put_latest("ensemble", text)

    def _focus_frames(self, scene: Scene, name: str) -> tuple[str, object, str]:
        """``name``'s state, what its expectation depends on, and that expectation (cached)."""
        snap, model, t0 = scene.snaps[name], scene.models[name], scene.t0[name]
        track = self.tracks[name]
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
            t0,
        )
        if key != track.expect_key:
            track.expect_key = key
            track.expect_text = _dumps(expect_message(model, snap, t0))
        return state, key, track.expect_text

    def frame(self, feeds: Iterable[ClientFeed] | None = None) -> None:
        """Both halves on this thread: the scene, then its frames (a hand-stepped engine)."""
        self.publish_frames(self.scene(), feeds)

    async def run(self, show: ShowLoop) -> None:
        """On the server's loop, until cancelled: events to pages as they come, and frames
        ``fps`` times a second while any page is connected (the scene copied on ``show``);
        without a page, the events are only taken into the activity windows at each tick."""
        loop = asyncio.get_running_loop()
        self.inbox.bind()
        sending = asyncio.create_task(self._send_events())
        period = 1.0 / self.fps
        due = loop.time()
        try:
            while True:
                if self.feeds:
                    self.publish_frames(await show(self.scene))
                else:
                    self.publish_events()
                due = max(due + period, loop.time())
                await asyncio.sleep(due - loop.time())
        finally:
            sending.cancel()

    async def _send_events(self) -> None:
        while True:
            await self.inbox.wait()
            self.publish_events()

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
        self.feeds = self.feeds | {feed}  # its frames come with the next (``run``)
        return feed

    def disconnect(self, feed: ClientFeed) -> None:
        self.feeds = self.feeds - {feed}

    def receive(self, text: str, feed: ClientFeed | None = None) -> str | None:
        """Read and apply one message from a page on this thread (a hand-stepped engine); the
        server reads it on its loop (``read_page_message``) and applies it on the show's."""
        return self.apply(read_page_message(text), feed)

    def apply(self, message: dict[str, Any] | str, feed: ClientFeed | None = None) -> str | None:
        """Apply one message read from a page (a string: what was wrong with it); returns an
        ``{"error": ...}`` reply or ``None``.

        A message may name its ``instrument``; otherwise it is for the one ``feed`` looks at.
        """
        focus = self.name if feed is None else feed.focus
        if isinstance(message, str):
            return self._reject(focus, "malformed", message)
        name = message.get("select", message.get("instrument", focus))
        if not isinstance(name, str) or name not in self.tracks:
            return self._reject(focus, "malformed", f"no instrument {name!r}")
        if "select" in message and feed is not None:
            feed.focus = name  # its frames come with the next (``run``)
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
        keys = ", ".join(repr(key)[:20] for key in list(message)[:4])
        return self._reject(name, "malformed", f"unknown message (keys {keys})")

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


def read_page_message(text: str) -> dict[str, Any] | str:
    """A page's message as a JSON object, or what is wrong with it (one line). Called on the
    server's loop: parsing takes time in proportion to the text (at most ``MAX_PAGE_MESSAGE``)."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return f"not JSON: {text[:80]!r}"
    if not isinstance(message, dict):
        return f"unknown message {text[:80]!r}"
    return message


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
        self._sock = _bind(self.host, self.port)
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
        self._server = ServerThread(_LoopServer(config), self._sock, self.on_close, beside)
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
