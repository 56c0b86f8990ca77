"""How late the show's loop wakes: what a performer's input waits before anything reads it.

A datagram that arrives while the loop is busy (or while its thread waits for the GIL) waits
until the loop comes back to its sockets; the time one callback takes (``OscPort``'s
``slowest_wakeup``) does not see that wait. ``LoopLag`` arms a timer every ``PERIOD`` seconds on
the show's loop and records how late each fires: a stall anywhere in the process (a thread
holding the GIL, a slow callback, the machine's other work) shows here as it would to the
performer. The figure includes asyncio's own timer rounding (up to ~2 ms: ``foretell.clock``),
so a quiet loop reads a millisecond or two; only what stands above that is a stall.
"""

from __future__ import annotations

import numpy as np

from foretell.clock import Clock, Timer

PERIOD = 0.005  # seconds between checks
BIN_S = 0.0001  # the histogram's resolution
BINS = 2000  # up to 200 ms; later ones count in the last bin (the maximum is kept exactly)
SLOW = 0.005  # a wake-up later than this is counted


class LoopLag:
    """Timers on ``clock`` every ``PERIOD`` s, each one's lateness recorded (call on the loop)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.checks = self.slow = 0
        self.slowest = 0.0
        self._counts = np.zeros(BINS, dtype=np.int64)
        self._due = 0.0
        self._timer: Timer | None = None

    def start(self) -> None:
        self._arm(self.clock.now())

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, now: float) -> None:
        self._due = now + PERIOD
        self._timer = self.clock.call_at(self._due, self._tick)

    def _tick(self) -> None:
        now = self.clock.now()
        late = max(0.0, now - self._due)
        self.checks += 1
        self.slow += late > SLOW
        self.slowest = max(self.slowest, late)
        self._counts[min(int(late / BIN_S), BINS - 1)] += 1
        self._arm(now)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile of the lateness (seconds, to ``BIN_S``); 0 before any check."""
        if self.checks == 0:
            return 0.0
        rank = int(np.searchsorted(np.cumsum(self._counts), q / 100 * self.checks))
        return min((rank + 1) * BIN_S, self.slowest)

    def summary(self) -> dict[str, float | int]:
        """Milliseconds: p50, p99, the slowest; how many checks and how many were late."""
        return {
            "p50_ms": round(self.percentile(50) * 1e3, 2),
            "p99_ms": round(self.percentile(99) * 1e3, 2),
            "max_ms": round(self.slowest * 1e3, 2),
            "checks": self.checks,
            "over_5ms": self.slow,
        }
