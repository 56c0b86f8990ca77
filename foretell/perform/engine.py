"""The engine: instruments, the sources that feed them and the sinks they play to, on one loop.

The engine owns every piece of performance state and is driven from one asyncio loop (or by hand
on a ``FakeClock`` in tests). It routes nothing itself: each source delivers to its instrument's
``Inbox`` (``Instrument.on_input``/``on_command``), each instrument plays through the scheduler to
its sinks. The engine starts and stops them in order, publishes snapshots and events for displays,
and accepts commands for any instrument.

Services (learning while playing) work beside one instrument: the engine starts and stops them
with it, gives them every event, and hands them the commands they take (``Service.takes``) for
their instrument, from every source; all are given at construction.

Events reach listeners through one ``Listeners`` (``foretell.perform.listeners``) that every
instrument was built to tell and the engine is given; the engine adds its services to it. For a
display (the dashboard): call ``snapshot()`` at whatever rate you draw (it copies, never blocks
the performance), and ``add_listener(fn)`` to be called with ``(instrument, event)`` for every
user and model event as it happens (on the loop; keep it short). Send commands through
``command()`` on the loop (or ``loop.call_soon_threadsafe(engine.command, ...)`` from a thread),
the same path OSC live control takes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from foretell.clock import Clock
from foretell.commands import Command, Outcome, Reset, SetPause
from foretell.events import Event
from foretell.io.base import Sink, Source

if TYPE_CHECKING:
    from foretell.io.transports import Transports
from foretell.perform.instrument import Instrument, InstrumentSnapshot
from foretell.perform.lateness import LoopLag
from foretell.perform.listeners import Listener, Listeners
from foretell.perform.scheduler import Scheduler


class Service(Protocol):
    """Work the engine runs beside one instrument (a ``foretell.learn.coordinator.Learner``)."""

    @property
    def instrument(self) -> Instrument: ...

    def takes(self, command: Command) -> bool:
        """Whether ``command`` (to its instrument) is this service's to carry out."""
        ...

    def on_command(self, command: Command) -> None: ...

    def on_event(self, instrument: str, event: Event) -> None: ...

    def start(self) -> bool: ...

    def stop(self) -> None: ...

    def status(self) -> dict[str, Any]: ...


class EngineInbox:
    """One instrument as one source sees it: inputs stamped with the source's kind, commands
    through the engine (so a service takes its own)."""

    def __init__(self, engine: Engine, instrument: Instrument, origin: str) -> None:
        self.engine = engine
        self.instrument = instrument
        self.origin = origin

    def on_input(
        self, values: Sequence[object], *, answer: bool = True, guest: bool = False
    ) -> None:
        self.instrument.on_input(values, answer=answer, origin=self.origin, guest=guest)

    def on_command(self, command: Command) -> None:
        self.engine.command(command, self.instrument.name)

    def on_reject(self, kind: str, detail: str) -> None:
        self.instrument.on_reject(kind, detail)


@dataclass(frozen=True)
class SinkStatus:
    name: str
    sent: int
    dropped: int


@dataclass(frozen=True)
class EngineSnapshot:
    t: float
    instruments: tuple[InstrumentSnapshot, ...]
    sinks: tuple[SinkStatus, ...]
    stale: int
    wakeups: dict[str, float | int] | None = None  # how late the loop woke (LoopLag.summary)


class Engine:
    """Instruments plus their sources and sinks (see the module docstring).

    ``sources`` pairs each source with the name of the instrument it feeds. Sinks are listed per
    instrument on the instrument itself; ``sinks`` here are the ones the engine opens and closes.
    ``listeners`` is what every instrument tells (built with ``listeners=[it]``); it hears every
    event from the start, the services too (more can be added while it runs: a display).
    ``optional`` holds the sources and sinks whose failing to open does not stop the start (MIDI,
    serial, WebSocket): they are opened through its ``reopener``, which keeps trying.
    ``lag``, if given, measures how late the loop wakes while the engine runs (real runs).
    """

    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        instruments: Sequence[Instrument],
        sources: Sequence[tuple[Source, str]] = (),
        sinks: Sequence[Sink] = (),
        listeners: Listeners | None = None,
        services: Sequence[Service] = (),
        optional: Transports | None = None,
        lag: LoopLag | None = None,
    ) -> None:
        self.clock = clock
        self.optional = optional
        self.lag = lag
        self.scheduler = scheduler
        self.instruments = {inst.name: inst for inst in instruments}
        if len(self.instruments) != len(instruments):
            raise ValueError("instrument names must be unique")
        for _, name in sources:
            if name not in self.instruments:
                raise ValueError(f"a source feeds unknown instrument {name!r}")
        self.sources = list(sources)
        self.sinks = list(sinks)
        self.services = list(services)
        for service in self.services:
            if service.instrument.name not in self.instruments:
                raise ValueError(f"a service serves unknown instrument {service.instrument.name!r}")
        self.listeners = Listeners() if listeners is None else listeners
        for inst in instruments:
            if not inst.tells(self.listeners):
                raise ValueError(
                    f"instrument {inst.name!r} does not tell the engine's listeners "
                    "(build it with listeners=[the Listeners given to the engine])"
                )
        for service in self.services:
            self.listeners.add(service.on_event)
        self.running = False

    def instrument(self, name: str | None = None) -> Instrument:
        """The instrument called ``name`` (default: the first)."""
        if name is None:
            return next(iter(self.instruments.values()))
        return self.instruments[name]

    def start(self) -> None:
        """Open sinks, start instruments, then open sources (call on the engine's loop)."""
        started: list[Sink | Source] = []
        try:
            for sink in self.sinks:
                self._open(sink, sink.start)
                started.append(sink)
            for inst in self.instruments.values():
                inst.start()
            for service in self.services:
                service.start()
            for source, name in self.sources:
                inbox = EngineInbox(self, self.instruments[name], source.origin)
                self._open(source, lambda s=source, i=inbox: s.start(i))  # type: ignore[misc]
                started.append(source)
            if self.lag is not None:
                self.lag.start()
        except Exception:
            if self.optional is not None:
                self.optional.reopener.stop()
            for part in reversed(started):
                part.stop()
            for service in self.services:
                service.stop()
            for inst in self.instruments.values():
                inst.stop()
            raise
        self.running = True

    def _open(self, part: Source | Sink, opening: Callable[[], None]) -> None:
        """Open ``part``: an optional one through the reopener (it may open later)."""
        if self.optional is not None and self.optional.holds(part):
            self.optional.reopener.open(part, opening, self.clock)
        else:
            opening()

    def stop(self) -> None:
        """Close sources, stop instruments (and their logs), withdraw queued events, close sinks."""
        if self.optional is not None:
            self.optional.reopener.stop()
        if self.lag is not None:
            self.lag.stop()
        for source, _ in self.sources:
            source.stop()
        for service in self.services:
            service.stop()
        for inst in self.instruments.values():
            inst.stop()
        self.scheduler.clear()
        for sink in self.sinks:
            sink.stop()
        self.running = False

    def command(self, command: Command, instrument: str | None = None) -> Outcome:
        """Apply ``command`` to one instrument now (on the loop, between events): logged there,
        carried out by the instrument or by the service that takes it; what became of it."""
        inst = self.instrument(instrument)
        service = self._service_for(inst.name, command)
        if service is None:
            return inst.on_command(command)
        inst.note_command(command)
        with inst.rejections.recording() as refused:
            service.on_command(command)
        return Outcome(refused=refused[0] if refused else None)

    def _service_for(self, name: str, command: Command) -> Service | None:
        found = (s for s in self.services if s.instrument.name == name and s.takes(command))
        return next(found, None)

    def instrument_snapshot(self, name: str | None = None) -> InstrumentSnapshot:
        """One instrument's snapshot, with the status of its services (learning)."""
        inst = self.instrument(name)
        snap = inst.snapshot()
        for service in self.services:
            if service.instrument is inst:
                snap = replace(snap, learning=service.status())
        return snap

    def panic(self) -> None:
        """Stop everything sounding: pause and reset every instrument, silence every output."""
        for inst in self.instruments.values():
            inst.on_command(SetPause(True))
            inst.on_command(Reset())
        sinks = {id(s): s for s in self.sinks}
        for inst in self.instruments.values():
            sinks.update((id(s), s) for s in inst.sinks)
        for sink in sinks.values():
            sink.silence()

    def add_listener(self, listener: Listener) -> None:
        self.listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self.listeners.remove(listener)

    def snapshot(self) -> EngineSnapshot:
        return EngineSnapshot(
            t=self.clock.now(),
            instruments=tuple(self.instrument_snapshot(name) for name in self.instruments),
            sinks=tuple(SinkStatus(repr(s), s.sent, s.dropped) for s in self.sinks),
            stale=self.scheduler.stale,
            wakeups=None if self.lag is None else self.lag.summary(),
        )
