"""One clock for the whole performance: time in seconds, timers, and a precise finishing wait.

``LoopClock`` reads ``time.monotonic()`` (the clock asyncio's ``loop.time()`` reads) and arms timers
on the running asyncio loop. ``FakeClock`` is a hand-stepped clock with the same protocol, so the
engine and the scheduler run deterministically (and instantly) in tests.

This module does not schedule musical events (see ``foretell.perform.scheduler``); it only tells
time, calls back at a time, and finishes a wait precisely.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

# asyncio's selector rounds a timeout up to whole milliseconds, and the epoll call rounds it up
# again, so a timer may fire two milliseconds and more after the time asked
# (docs/evaluation/choices.md, "Timers"); precise waits arm the timer this much early and finish
# with ``wait_until``.
TIMER_LEAD_S = 0.0025
# The finishing wait spins (it never sleeps again within this much of the deadline: a second
# wake-up would risk a second scheduling delay on a busy machine).
_SPIN_S = 0.004


class Timer(Protocol):
    """A pending callback; ``cancel()`` stops it (a no-op once it ran)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Seconds on one monotonic timeline, timers on it, and a precise finishing wait."""

    timer_lead: float  # how early ``call_at`` must be armed for ``wait_until`` to finish in time

    def now(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer: ...

    def wait_until(self, deadline: float) -> None: ...


class LoopClock:
    """``time.monotonic()`` with timers on the running asyncio loop (call from the loop only)."""

    timer_lead = TIMER_LEAD_S

    def now(self) -> float:
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_at(when, callback)

    def wait_until(self, deadline: float) -> None:
        """Block until ``deadline``: spin the last ``_SPIN_S`` (sub-0.1 ms precision)."""
        remaining = deadline - time.monotonic()
        if remaining > _SPIN_S:
            time.sleep(remaining - _SPIN_S)
        while time.monotonic() < deadline:
            pass


class _FakeTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told: ``advance(seconds)`` runs due timers in time order."""

    timer_lead = 0.0

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, _FakeTimer]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = _FakeTimer(when, callback)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer

    def wait_until(self, deadline: float) -> None:
        self._now = max(self._now, deadline)

    def pending(self) -> int:
        """How many timers are armed and not cancelled."""
        return sum(not timer.cancelled for _, _, timer in self._timers)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running every timer that falls due on the way."""
        self.run_until(self._now + seconds)

    def run_until(self, target: float) -> None:
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.callback()
        self._now = max(self._now, target)
