"""What travels between the show's loop and the server's, and what waits for one page.

``Heard`` (an event as the engine published it) goes through ``Handoff`` from the show's loop to
the server's without waking it more than once a batch and without ever blocking the show;
``Scene`` is every instrument as the show saw it for one frame (copies); ``ClientFeed`` is one
page's outbox, filled by the publisher and drained by that page's sender task. See
``foretell.dashboard.server`` for the whole picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass

from foretell.events import Event
from foretell.model.protocol import Model
from foretell.perform.instrument import InstrumentSnapshot

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
