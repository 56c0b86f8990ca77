"""Cross-listening: one instrument's events become another instrument's input, with a loop guard.

``CrossListening`` is an engine listener (``engine.add_listener(router.on_event)``): for each event
an instrument plays (``model``) or receives from its performer (``user``), it hands the values to
every instrument that listens to it, as that instrument's user input. Delivery is deferred to the
next loop turn (``clock.call_at(now)``), so the speaker's send and timing are never delayed by the
listener's model step, and a chain of answers unwinds one turn at a time instead of recursing.

Loop guard: a delivery carries a hop count (1 for an event that came from a performer or a
scheduled model event, +1 for each instrument that answers what it heard). A delivery past
``max_hops`` is dropped, and so is anything over ``max_rate`` events/s on one link (speaker ->
listener); both count as the listener's ``loop_guard`` rejections. Two filter-mode instruments that
listen to each other therefore exchange at most ``max_hops`` answers per outside event instead of
ping-ponging forever. Call everything on the engine's loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from foretell.clock import Clock
from foretell.events import Event
from foretell.perform.instrument import Instrument

MAX_HOPS = 4
MAX_RATE = 500.0  # events/s on one link


class _Link:
    """One speaker -> listener route and its rate window."""

    def __init__(self, listener: Instrument, kind: str) -> None:
        self.listener = listener
        self.kind = kind
        self.window_start = float("-inf")
        self.window_count = 0
        self.delivered = 0

    def hears(self, event: Event) -> bool:
        return self.kind == "all" or self.kind == event.source

    def admit(self, now: float, max_rate: float) -> bool:
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return self.window_count <= max_rate


class CrossListening:
    """Routes events between instruments (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        links: Sequence[tuple[str, str, str]],
        max_hops: int = MAX_HOPS,
        max_rate: float = MAX_RATE,
    ) -> None:
        """``links`` are ``(speaker, listener, kind)`` with kind ``model``, ``user`` or ``all``."""
        self.clock = clock
        self.max_hops = max_hops
        self.max_rate = max_rate
        self._links: dict[str, list[_Link]] = {}
        for speaker, listener, kind in links:
            for name in (speaker, listener):
                if name not in instruments:
                    raise ValueError(f"listen_to names unknown instrument {name!r}")
            if speaker == listener:
                raise ValueError(f"instrument {listener!r} cannot listen to itself")
            self._links.setdefault(speaker, []).append(_Link(instruments[listener], kind))
        self._hops = 0  # hops of the delivery being handled now (0: none)

    def on_event(self, name: str, event: Event) -> None:
        """Engine listener: pass ``name``'s event on to whoever listens to it."""
        hops = self._hops + 1
        for link in self._links.get(name, ()):
            if not link.hears(event):
                continue
            if hops > self.max_hops:
                link.listener.on_reject(
                    "loop_guard", f"{name} -> {link.listener.name}: {hops} hops"
                )
            elif not link.admit(self.clock.now(), self.max_rate):
                link.listener.on_reject(
                    "loop_guard", f"{name} -> {link.listener.name}: over {self.max_rate:g}/s"
                )
            else:
                self.clock.call_at(
                    self.clock.now(), partial(self._deliver, link, event.values, hops)
                )

    def _deliver(self, link: _Link, values: tuple[float, ...], hops: int) -> None:
        self._hops = hops
        try:
            link.delivered += 1
            link.listener.on_input(values)
        finally:
            self._hops = 0

    def delivered(self) -> dict[str, int]:
        """Events delivered per link, as ``{"speaker->listener": count}``."""
        return {
            f"{speaker}->{link.listener.name}": link.delivered
            for speaker, links in self._links.items()
            for link in links
        }
