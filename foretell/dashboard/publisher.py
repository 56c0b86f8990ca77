"""The dashboard's publisher: every instrument's events and frames to pages, pages' messages
to the engine (see ``foretell.dashboard.server`` for the threads it runs on)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foretell.commands import Command, parse_command
from foretell.config.control_sources import ControlSources
from foretell.dashboard.feeds import ClientFeed, Handoff, Heard, Scene
from foretell.dashboard.frames import (
    Activity,
    ensemble_message,
    event_message,
    expect_message,
    settings_message,
    state_message,
    strip_state,
)
from foretell.errors import ControlError
from foretell.events import Event
from foretell.io.rate_limit import guest_input_limiter
from foretell.modes import MODES
from foretell.names import MODEL_SUFFIX
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument
from foretell.perform.show_loop import ShowLoop

MAX_PAGE_MESSAGE = 64 << 10  # bytes of one WebSocket message from a page (a pad input is ~60)


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


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
