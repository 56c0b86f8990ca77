"""Plays events at absolute deadlines on one ``Clock`` and records how late each one was.

``schedule(due, event, sinks, on_played)`` queues an event; when it falls due the scheduler
finishes the wait precisely (the clock's timer fires ``timer_lead`` early, then ``wait_until``
sleeps and spins to the deadline), sends it to its sinks and tells the caller what was played and
when (``on_played``), which is how a generated event is fed back to its model. Deadlines are
absolute, so timing errors never add up: the caller computes ``due = previous due + dt``.

An event that falls due more than ``late_limit`` seconds late (the loop was blocked) is stale: it
is dropped, never sent, and ``on_stale`` is called instead so the caller can re-anchor.
``play_now`` sends at once (filter-mode answers, input thru). Only this module calls sinks.

While it finishes a wait (at most ``timer_lead``, 2.5 ms; ~1.7 ms on average) the loop is busy:
inputs that arrive in that window are handled right after the send. At most ``BURST_LIMIT`` events
are played per timer callback, so a run of tiny intervals cannot keep the loop from reading input.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from foretell.clock import Clock, Timer
from foretell.events import Event
from foretell.io.base import Sink

log = logging.getLogger(__name__)
BURST_LIMIT = 32  # events played per timer callback before the loop gets to read input again
PlayedCallback = Callable[[Event, float], None]


class LatenessStats:
    """The last ``size`` send-time errors (sent - due, seconds) in a ring buffer."""

    def __init__(self, size: int = 4096) -> None:
        self._values = np.zeros(size)
        self._next = 0
        self.count = 0

    def add(self, lateness: float) -> None:
        self._values[self._next] = lateness
        self._next = (self._next + 1) % len(self._values)
        self.count += 1

    def recent(self) -> np.ndarray:
        return self._values[: min(self.count, len(self._values))].copy()

    def percentiles_ms(self) -> dict[str, float | None]:
        """p50 and p99 of |sent - due| in milliseconds over the recent window."""
        values = np.abs(self.recent()) * 1e3
        if len(values) == 0:
            return {"p50_ms": None, "p99_ms": None}
        p50, p99 = np.percentile(values, [50, 99])
        return {"p50_ms": float(p50), "p99_ms": float(p99)}


@dataclass(order=True)
class Ticket:
    """A queued event; ``Scheduler.cancel(ticket)`` withdraws it."""

    due: float
    order: int
    event: Event = field(compare=False)
    sinks: Sequence[Sink] = field(compare=False)
    on_played: PlayedCallback | None = field(compare=False, default=None)
    on_stale: PlayedCallback | None = field(compare=False, default=None)
    cancelled: bool = field(compare=False, default=False)


def _send_all(event: Event, sinks: Sequence[Sink]) -> None:
    for sink in sinks:
        try:
            sink.send(event)
        except Exception as exc:  # a broken sink must never stop the performance
            sink.dropped += 1
            if sink.dropped == 1:
                log.warning("output %r failed (%r); the performance goes on", sink, exc)
            log.debug("output failed", exc_info=True)


class Scheduler:
    """Absolute-deadline queue of events to play (see the module docstring)."""

    def __init__(self, clock: Clock, late_limit: float = 0.05) -> None:
        self.clock = clock
        self.late_limit = late_limit
        self.lateness = LatenessStats()
        self.stale = 0
        self.failed_callbacks = 0
        self._queue: list[Ticket] = []
        self._order = itertools.count()
        self._timer: Timer | None = None
        self._timer_due: float | None = None
        self._firing = False

    def __len__(self) -> int:
        return sum(not t.cancelled for t in self._queue)

    def play_now(self, event: Event, sinks: Sequence[Sink]) -> float:
        """Send ``event`` at once; return the send time."""
        _send_all(event, sinks)
        return self.clock.now()

    def schedule(
        self,
        due: float,
        event: Event,
        sinks: Sequence[Sink],
        on_played: PlayedCallback | None = None,
        on_stale: PlayedCallback | None = None,
    ) -> Ticket:
        """Queue ``event`` to be sent at ``due`` (clock seconds)."""
        ticket = Ticket(due, next(self._order), event, sinks, on_played, on_stale)
        heapq.heappush(self._queue, ticket)
        if not self._firing:
            self._arm()
        return ticket

    def cancel(self, ticket: Ticket | None) -> None:
        if ticket is not None:
            ticket.cancelled = True

    def clear(self) -> None:
        """Withdraw everything queued and disarm the timer."""
        for ticket in self._queue:
            ticket.cancelled = True
        self._queue.clear()
        self._disarm()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_due = None

    def _arm(self) -> None:
        while self._queue and self._queue[0].cancelled:
            heapq.heappop(self._queue)
        if not self._queue:
            self._disarm()
            return
        due = self._queue[0].due
        if self._timer_due is not None and self._timer_due <= due:
            return
        self._disarm()
        self._timer_due = due
        self._timer = self.clock.call_at(due - self.clock.timer_lead, self._fire)

    def _fire(self) -> None:
        self._timer = self._timer_due = None
        self._firing = True
        try:
            lead = self.clock.timer_lead
            for _ in range(BURST_LIMIT):  # a run of tiny intervals must not starve input
                if not self._queue or self._queue[0].due > self.clock.now() + lead:
                    break
                ticket = heapq.heappop(self._queue)
                if not ticket.cancelled:
                    self._play(ticket)
        finally:
            self._firing = False
            self._arm()  # whatever a callback did, the queue keeps playing

    def _play(self, ticket: Ticket) -> None:
        clock = self.clock
        clock.wait_until(ticket.due)
        now = clock.now()
        if now - ticket.due > self.late_limit:
            self.stale += 1
            self._report(ticket.on_stale, ticket.event, now)
            return
        _send_all(ticket.event, ticket.sinks)
        sent = clock.now()
        self.lateness.add(sent - ticket.due)
        self._report(ticket.on_played, ticket.event, sent)

    def _report(self, callback: PlayedCallback | None, event: Event, at: float) -> None:
        """Tell a ticket's owner what happened; its failure is its own and stops no other one."""
        if callback is None:
            return
        try:
            callback(event, at)
        except Exception as exc:
            self.failed_callbacks += 1
            if self.failed_callbacks == 1:
                log.warning(
                    "a scheduled event's owner failed (%r); the other events play on, further "
                    "failures are counted",
                    exc,
                )
            log.debug("scheduled callback failed", exc_info=True)
