"""Who hears an ensemble's events: one ``Listeners`` per engine, handed to every instrument.

Built before the instruments (``Instrument(listeners=[hub])``) and given to the engine
(``Engine(listeners=hub)``), so no instrument is rewired after it is built. What it holds: the
listeners the run was built with (transports that echo, instruments hearing each other), the
engine's services, and the displays that come and go while it runs (``add``/``remove``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from foretell.events import Event

Listener = Callable[[str, Event], None]  # (instrument name, event): on the loop, keep it short


class Listeners:
    """A fan-out of every user and model event; itself a ``Listener``."""

    def __init__(self, listeners: Sequence[Listener] = ()) -> None:
        self._listeners = list(listeners)

    def __call__(self, instrument: str, event: Event) -> None:
        for listener in self._listeners:
            listener(instrument, event)

    def add(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove(self, listener: Listener) -> None:
        self._listeners.remove(listener)
