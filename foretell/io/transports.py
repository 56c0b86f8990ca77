"""Build the configured transports (MIDI, serial, WebSocket: ``TRANSPORTS``) of one instrument.

``build_transports(*sections, controls=...)`` turns the config sections into sources, sinks and
listeners, opening nothing (``foretell.perform.build`` hands them to the engine it builds, each
instrument its own sections, one ``shared`` table for the whole run so a MIDI port several
instruments name is opened once). Any combination can be active. Each kind's builder (named by
its ``TransportKind``) imports its transport module only when its section is enabled, so a run
without MIDI never imports mido or rtmidi. Each part says what it is (``describe``).

These transports do not stop the show when they cannot open (a MIDI device not plugged in yet, a
WebSocket address the machine does not have until the venue's network gives it): the engine
opens them through ``Transports.reopener`` (``Reopener``), which says so in one line, lets the
rest play, and tries again with backoff until the part opens or the run stops. Only the main
input (OSC, opened by the engine itself) failing stops the start.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from foretell.clock import Clock, Timer
from foretell.config.control_sources import ControlSources
from foretell.config.transports import (
    TRANSPORTS,
    MidiConfig,
    Section,
    SerialConfig,
    WebSocketConfig,
    transport_kind,
)
from foretell.errors import ConfigError, ForetellError
from foretell.events import Event
from foretell.io.base import Sink, Source

if TYPE_CHECKING:
    from foretell.io.midi_ports import MidiPorts

Listener = Callable[[str, Event], None]
log = logging.getLogger(__name__)
FIRST_RETRY = 0.5  # seconds before the first new attempt; doubled after each failure
LONGEST_RETRY = 30.0  # seconds between attempts at most


class Reopener:
    """Opens transports that may not be there yet, and keeps trying those that are not.

    ``open(part, opening, clock)`` runs ``opening`` (the part's ``start``). If that fails with a
    ``ForetellError`` or ``OSError`` it logs one warning line naming the part and why, and tries
    again ``FIRST_RETRY`` seconds later, doubling the wait up to ``LONGEST_RETRY`` (quietly: one
    more line when it opens). An error marked ``retry = False`` (no MIDI system at all, an
    ambiguous port name: ``MidiSetupError``) is a setup mistake: it is raised, and the start
    stops. Runs on the engine's loop; ``stop`` cancels what is pending.
    """

    def __init__(self, first: float = FIRST_RETRY, longest: float = LONGEST_RETRY) -> None:
        self.first = first
        self.longest = longest
        self.failed: dict[str, int] = {}  # part -> failed attempts, while it is not open
        self.opened_late: dict[str, int] = {}  # part -> failed attempts before it opened
        self._timers: dict[int, Timer] = {}
        self._said: set[str] = set()  # the reasons already given

    def open(self, part: Source | Sink, opening: Callable[[], None], clock: Clock) -> None:
        self._attempt(part, opening, clock, self.first)

    def _attempt(
        self, part: Source | Sink, opening: Callable[[], None], clock: Clock, wait: float
    ) -> None:
        self._timers.pop(id(part), None)
        name = repr(part)
        try:
            opening()
        except (ForetellError, OSError) as exc:
            if not getattr(exc, "retry", True):
                raise  # nothing to wait for (no MIDI system at all): the start stops
            tries = self.failed.get(name, 0) + 1
            self.failed[name] = tries
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if tries == 1 and why not in self._said:  # a shared server's two ends: one line
                self._said.add(why)
                log.warning("%s; playing without it, trying again in the background", why)
            retry = min(wait * 2, self.longest)
            self._timers[id(part)] = clock.call_at(
                clock.now() + wait, lambda: self._attempt(part, opening, clock, retry)
            )
            return
        tries = self.failed.pop(name, 0)
        if tries:
            self.opened_late[name] = tries
            log.warning("%s opened (after %d failed attempts)", name, tries)

    def stop(self) -> None:
        """Stop trying (the run ends)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def counters(self) -> dict[str, int]:
        """For the stop line: parts never opened and parts opened late, with their attempts."""
        counts = {f"{name} not opened (attempts)": n for name, n in self.failed.items()}
        counts.update(
            {f"{name} opened late (failed attempts)": n for name, n in self.opened_late.items()}
        )
        return counts


@dataclass
class Transports:
    """What the config asked for, ready to attach; ``describe()`` says what is open.

    ``labels`` names the instrument of each part (by ``id``) where a run has several.
    """

    sources: list[Source] = field(default_factory=list)
    sinks: list[Sink] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    reopener: Reopener = field(default_factory=Reopener)

    def holds(self, part: Source | Sink) -> bool:
        """Whether ``part`` is one of these transports (opened through ``reopener``)."""
        return any(part is mine for mine in [*self.sources, *self.sinks])

    def add(self, other: Transports, label: str | None = None) -> None:
        """Take in ``other``'s parts (those of instrument ``label``)."""
        self.sources += other.sources
        self.sinks += other.sinks
        self.listeners += other.listeners
        if label is not None:
            self.labels.update((id(part), label) for part in [*other.sources, *other.sinks])

    def describe(self) -> list[str]:
        """One phrase per transport (call after ``engine.start()`` for the bound ports)."""
        parts: list[Source | Sink] = [*self.sources, *self.sinks]
        phrases = [(part, part.describe()) for part in parts]
        return [f"{phrase}{self._owner(part, ' ({})')}" for part, phrase in phrases if phrase]

    def counters(self) -> dict[str, int]:
        """Transport-level counts worth a line at the end: ignored MIDI, dropped output, ..."""
        counts: dict[str, int] = self.reopener.counters()
        for part in self.sources:
            for reason, n in getattr(part, "ignored", {}).items():
                key = f"{self._owner(part, '{} ')}midi {reason}"
                counts[key] = counts.get(key, 0) + n
        for sink in self.sinks:
            if sink.dropped:
                counts[f"{self._owner(sink, '{} ')}{sink!r} dropped"] = sink.dropped
        return counts

    def _owner(self, part: Source | Sink, form: str) -> str:
        """``form`` filled with the instrument ``part`` belongs to ('' in a single run)."""
        label = self.labels.get(id(part))
        return "" if label is None else form.format(label)


@dataclass
class BuildContext:
    """What a transport's builder is given besides its section: values per event, who may
    steer, and ``shared``: parts of the whole run by kind (the MIDI ports), made by the first
    builder that needs them."""

    controls: int | None = None
    control_from: ControlSources | None = None
    shared: dict[str, Any] = field(default_factory=dict)


Builder = Callable[[Transports, Any, BuildContext], None]


def build_transports(
    *sections: Section,
    controls: int | None = None,
    shared: dict[str, Any] | None = None,
    control_from: ControlSources | None = None,
) -> Transports:
    """Sources, sinks and listeners for every enabled section, of any kinds (``controls``:
    values per event; ``shared``: the run's shared parts, as ``BuildContext.shared``, a new
    table if not given; ``control_from``: the performer's hosts, who may steer through a
    network transport), built in ``TRANSPORTS``' order."""
    context = BuildContext(controls, control_from, {} if shared is None else shared)
    given = {transport_kind(section).kind: section for section in sections}
    transports = Transports()
    for kind in TRANSPORTS.values():
        section = given.get(kind.kind)
        if section is not None and section.enabled:
            _builder(kind.builder)(transports, section, context)
    return transports


def _builder(where: str) -> Builder:
    module, _, name = where.partition(":")
    builder: Builder = getattr(importlib.import_module(module), name)
    return builder


def websocket_parts(transports: Transports, config: WebSocketConfig, context: BuildContext) -> None:
    """``[websocket]``: one server, its source, and its sink (also echoing the performer)."""
    from foretell.io.websocket import WebSocketServer, WebSocketSink, WebSocketSource

    assert config.port is not None
    server = WebSocketServer(
        config.host,
        config.port,
        config.buffer,
        config.stall_timeout,
        config.max_clients,
        allowed_origins=config.allowed_origins,
        allowed_hosts=config.allowed_hosts,
        control_from=context.control_from,
    )
    sink = WebSocketSink(server)
    if config.protocol == "impsy":
        from foretell.io.websocket_impsy import impsy_protocol

        sink = impsy_protocol(server, config, context.controls)
    transports.sources.append(WebSocketSource(server))
    transports.sinks.append(sink)
    transports.listeners.append(sink.echo)


def serial_parts(transports: Transports, config: SerialConfig, context: BuildContext) -> None:
    """``[serial]``: the device's source and (``send``) sink, lines of values or raw MIDI."""
    from foretell.io.serial import SerialLink, SerialSink, SerialSource

    assert config.port is not None
    if config.protocol == "midi":
        from foretell.io.serial_midi import serial_midi

        source, sink = serial_midi(config, context.controls)
        transports.sources.append(source)
        transports.sinks.extend([sink] if config.send else [])
        return
    link = SerialLink(config.port, config.baud, config.scale, config.reconnect)
    transports.sources.append(SerialSource(link))
    if config.send:
        transports.sinks.append(SerialSink(link))


def midi_parts(transports: Transports, config: MidiConfig, context: BuildContext) -> None:
    """``[midi]``: a sink for the outputs and a source for the inputs, on the run's MIDI ports
    (``shared["midi"]``, opened on this section's ``api`` when the first section needs them)."""
    from foretell.io.midi import EchoGuard, MidiSink, MidiSource
    from foretell.io.midi_map import (
        MidiDecoder,
        MidiEncoder,
        channels_heard,
        default_maps,
        with_channel,
    )

    ports = _midi_ports(config, context)
    controls = context.controls
    if config.dialect == "impsy":
        _add_impsy_midi(transports, config, controls, ports)
        return
    maps = config.map
    if not maps:
        if controls is None:
            raise ConfigError(
                "MIDI needs [[midi.map]] tables or a known number of controls "
                "(give a model, --controls N or [interaction] dimension)"
            )
        maps = default_maps(controls)
    if controls is None:
        controls = max(m.control for m in maps) + 1
    maps = with_channel(maps, config.channel)
    guard = EchoGuard(config.echo_window) if config.feedback_guard else None
    sink = None
    if config.outputs:
        sink = MidiSink(config.outputs, MidiEncoder(maps, mpe=config.mpe), guard, ports=ports)
        transports.sinks.append(sink)
    if config.inputs:
        decoder = MidiDecoder(
            maps, controls, note_off=config.note_off, mpe=config.mpe, initial=config.initial
        )
        thru = sink if config.thru else None
        heard = channels_heard(maps, config.channel)
        source = MidiSource(config.inputs, decoder, thru, guard, ports=ports, channels=heard)
        transports.sources.append(source)


def _midi_ports(config: MidiConfig, context: BuildContext) -> MidiPorts:
    """The run's MIDI ports: the shared ones, else new ones on this section's ``api``."""
    if "midi" not in context.shared:
        from foretell.io.midi_ports import MidiPorts

        context.shared["midi"] = MidiPorts(api=config.api)
    ports: MidiPorts = context.shared["midi"]
    return ports


def _add_impsy_midi(
    transports: Transports, config: MidiConfig, controls: int | None, ports: MidiPorts
) -> None:
    """IMPSY's MIDI semantics, one source and one sink per port (``foretell.io.midi_impsy``)."""
    from foretell.io.midi_impsy import build_impsy_midi

    if controls is None:
        controls = max((m.control for m in config.map), default=-1) + 1
    sources, sinks = build_impsy_midi(config, controls, ports)
    transports.sources.extend(sources)
    transports.sinks.extend(sinks)
