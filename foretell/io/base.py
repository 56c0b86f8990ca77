"""What a transport is to the engine: a ``Source`` of inputs and commands, a ``Sink`` of events.

Threads: the engine runs on one asyncio loop and owns all performance state. A source calls its
``Inbox`` on that loop only: asyncio-native transports (OSC, WebSocket) call it directly from their
loop callbacks; thread-based ones (MIDI callbacks, serial readers) hand over with
``loop.call_soon_threadsafe(inbox.on_input, values)``. Sinks are called by the scheduler on the
loop and must not block (a slow peer is dropped from, never waited for).

Construction opens nothing; ``start()`` opens, ``stop()`` closes (and may be called twice).
A new transport subclasses these and fills in the ``_open``/``_send``/``_close`` hooks; the engine
does not change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from foretell.events import Event

if TYPE_CHECKING:
    from foretell.commands import Command


class Inbox(Protocol):
    """The engine side of a source (called on the engine's loop)."""

    def on_input(
        self, values: Sequence[object], *, answer: bool = True, guest: bool = False
    ) -> None:
        """A user input (raw values, checked by the engine). ``answer=False`` says a newer input
        is already waiting, so an immediate answer to this one would be stale; ``guest`` that it
        came from a host that is not the performer's (``foretell.config.control_sources``): it
        is played and logged as a guest's, never learned from."""

    def on_command(self, command: Command) -> None:
        """A live-control command, applied between events."""

    def on_reject(self, kind: str, detail: str) -> None:
        """A transport-level rejection (malformed packet, unknown address, bad command)."""


class Source(ABC):
    """Delivers user inputs and commands to an ``Inbox``. ``start``/``stop`` run on the loop."""

    def __init__(self) -> None:
        self._inbox: Inbox | None = None

    @property
    def started(self) -> bool:
        return self._inbox is not None

    @property
    def origin(self) -> str:
        """The kind of source this is, stamped on its inputs: its module's name (``osc``, ...)."""
        return type(self).__module__.rsplit(".", 1)[-1]

    def describe(self) -> str | None:
        """What it is and where, in a few words for the start line (``None``: nothing to say)."""
        return None

    def start(self, inbox: Inbox) -> None:
        """Open the transport and begin delivering to ``inbox``."""
        if self._inbox is not None:
            raise RuntimeError(f"{self!r} is already started")
        self._open(inbox)
        self._inbox = inbox

    def stop(self) -> None:
        """Stop delivering and close the transport (idempotent)."""
        if self._inbox is not None:
            self._inbox = None
            self._close()

    @abstractmethod
    def _open(self, inbox: Inbox) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...


class Sink(ABC):
    """Receives events to play (model predictions, and user inputs when thru is on).

    ``send`` is called by the scheduler on the engine's loop at the event's due time. It never
    raises for a peer's trouble: ``_send`` counts what it could not deliver in ``dropped``.
    """

    def __init__(self) -> None:
        self._open_now = False
        self.sent = 0
        self.dropped = 0

    @property
    def started(self) -> bool:
        return self._open_now

    def describe(self) -> str | None:
        """What it is and where, in a few words for the start line (``None``: nothing to say)."""
        return None

    def start(self) -> None:
        if not self._open_now:
            self._open()
            self._open_now = True

    def stop(self) -> None:
        if self._open_now:
            self._open_now = False
            self._close()

    def send(self, event: Event) -> None:
        """Play ``event`` now (checks that the sink is open, then calls ``_send``)."""
        if not self._open_now:
            self.dropped += 1
            return
        if self._send(event):
            self.sent += 1
        else:
            self.dropped += 1

    def silence(self) -> None:  # noqa: B027 - optional hook
        """End whatever this sink keeps sounding (panic; default: nothing sounds on)."""

    def _open(self) -> None:  # noqa: B027 - optional hook
        """Open the transport (default: nothing to open)."""

    def _close(self) -> None:  # noqa: B027 - optional hook
        """Close the transport (default: nothing to close)."""

    @abstractmethod
    def _send(self, event: Event) -> bool:
        """Deliver ``event``; return False if it could not be delivered. Must not block."""


class ListSink(Sink):
    """Collects sent events in a list: for tests, headless runs and in-process listeners."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def _send(self, event: Event) -> bool:
        self.events.append(event)
        return True


def waiting(part: Source | Sink) -> str:
    """What a transport's start line adds while it is not open yet."""
    return "" if part.started else " (not open yet: trying again)"
