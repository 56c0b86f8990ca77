"""A per-source token bucket: how often one sender may steer the engine, or play into it.

``RateLimiter(rate, burst).allow(source)`` spends one token of ``source``'s bucket (refilled at
``rate`` per second up to ``burst``) and says whether there was one. Buckets are kept for at most
``MAX_SOURCES`` senders (the least recently seen is forgotten), so a spray of forged senders
costs bounded memory. Time comes from ``time.monotonic`` unless a clock is given.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_SOURCES = 1024
COMMAND_RATE = 50.0  # commands per second per source, sustained
COMMAND_BURST = 100.0  # commands a source may send at once (a fader sweep, a preset recall)
DATAGRAM_RATE = 2000.0  # datagrams per second per source (a controller sends far fewer)
DATAGRAM_BURST = 2000.0
GUEST_INPUT_RATE = 200.0  # inputs per second from a host that is not the performer's
GUEST_INPUT_BURST = 400.0
BUNDLE_INPUTS = 16  # inputs one datagram may carry (a bundle); the rest are dropped


class RateLimiter:
    """Token buckets keyed by source (see the module docstring)."""

    def __init__(
        self,
        rate: float = COMMAND_RATE,
        burst: float = COMMAND_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, source: str) -> bool:
        now = self._clock()
        tokens, then = self._buckets.pop(source, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > MAX_SOURCES:
            self._buckets.popitem(last=False)
        return allowed

    def describe(self, what: str = "commands") -> str:
        return f"more than {self.rate:g} {what} per second (burst {self.burst:g}) from one source"


def datagram_limiter() -> RateLimiter:
    """Datagrams per source, checked before one is decoded (a flood costs a read each)."""
    return RateLimiter(DATAGRAM_RATE, DATAGRAM_BURST)


def guest_input_limiter() -> RateLimiter:
    """Inputs per source from hosts that are not the performer's (they play, at a bounded rate)."""
    return RateLimiter(GUEST_INPUT_RATE, GUEST_INPUT_BURST)
