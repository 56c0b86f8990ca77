"""Build the configured MIDI, serial and WebSocket transports and attach them to an engine.

``build_transports(midi, serial, websocket, controls)`` turns the config sections into sources,
sinks and listeners (opening nothing); ``attach(engine, transports)`` adds them to one instrument
before ``engine.start()``, next to whatever it already has (OSC); ``attach_configured(engine,
config)`` does both for a ``RunConfig``. Any combination can be active.
Each transport module is imported only when its section is enabled, so a run without MIDI never
imports mido or rtmidi.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from foretell.errors import ConfigError
from foretell.events import Event
from foretell.io.base import Sink, Source
from foretell.io.transport_config import MidiConfig, SerialConfig, WebSocketConfig

if TYPE_CHECKING:
    from foretell.config import RunConfig
    from foretell.perform.engine import Engine

Listener = Callable[[str, Event], None]


@dataclass
class Transports:
    """What the config asked for, ready to attach; ``describe()`` says what is open."""

    sources: list[Source] = field(default_factory=list)
    sinks: list[Sink] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)

    def describe(self) -> list[str]:
        """One phrase per transport (call after ``engine.start()`` for the bound ports)."""
        from foretell.io.midi import MidiSink, MidiSource
        from foretell.io.serial import SerialSource
        from foretell.io.websocket import WebSocketSource

        phrases = []
        for part in [*self.sources, *self.sinks]:
            if isinstance(part, WebSocketSource):
                host, port = part.server.address
                phrases.append(f"WebSocket on ws://{host}:{port}")
            elif isinstance(part, SerialSource):
                phrases.append(f"serial {part.link.port} at {part.link.baud} baud")
            elif isinstance(part, MidiSource):
                phrases.append("MIDI in " + ", ".join(part.names))
            elif isinstance(part, MidiSink):
                phrases.append("MIDI out " + ", ".join(part.names))
        return phrases

    def counters(self) -> dict[str, int]:
        """Transport-level counts worth a line at the end: ignored MIDI, dropped output, ..."""
        counts: dict[str, int] = {}
        for part in self.sources:
            for reason, n in getattr(part, "ignored", {}).items():
                counts[f"midi {reason}"] = counts.get(f"midi {reason}", 0) + n
        for sink in self.sinks:
            if sink.dropped:
                counts[f"{sink!r} dropped"] = sink.dropped
        return counts


def build_transports(
    midi: MidiConfig | None = None,
    serial: SerialConfig | None = None,
    websocket: WebSocketConfig | None = None,
    controls: int | None = None,
) -> Transports:
    """Sources, sinks and listeners for every enabled section (``controls``: values per event)."""
    transports = Transports()
    if websocket is not None and websocket.enabled:
        _add_websocket(transports, websocket)
    if serial is not None and serial.enabled:
        _add_serial(transports, serial)
    if midi is not None and midi.enabled:
        _add_midi(transports, midi, controls)
    return transports


def _add_websocket(transports: Transports, config: WebSocketConfig) -> None:
    from foretell.io.websocket import WebSocketServer, WebSocketSink, WebSocketSource

    assert config.port is not None
    server = WebSocketServer(
        config.host, config.port, config.buffer, config.stall_timeout, config.max_clients
    )
    sink = WebSocketSink(server)
    transports.sources.append(WebSocketSource(server))
    transports.sinks.append(sink)
    transports.listeners.append(sink.echo)


def _add_serial(transports: Transports, config: SerialConfig) -> None:
    from foretell.io.serial import SerialLink, SerialSink, SerialSource

    assert config.port is not None
    link = SerialLink(config.port, config.baud, config.scale, config.reconnect)
    transports.sources.append(SerialSource(link))
    if config.send:
        transports.sinks.append(SerialSink(link))


def _add_midi(transports: Transports, config: MidiConfig, controls: int | None) -> None:
    from foretell.io.midi import EchoGuard, MidiSink, MidiSource
    from foretell.io.midi_map import MidiDecoder, MidiEncoder, default_maps

    maps = config.map
    if not maps:
        if controls is None:
            raise ConfigError(
                "MIDI needs [[midi.map]] tables or a known number of controls "
                "(give a model, or interaction.dimension)"
            )
        maps = default_maps(controls)
    if controls is None:
        controls = max(m.control for m in maps) + 1
    guard = EchoGuard(config.echo_window) if config.feedback_guard else None
    sink = None
    if config.outputs:
        sink = MidiSink(config.outputs, MidiEncoder(maps, mpe=config.mpe), guard)
        transports.sinks.append(sink)
    if config.inputs:
        decoder = MidiDecoder(
            maps, controls, note_off=config.note_off, mpe=config.mpe, initial=config.initial
        )
        thru = sink if config.thru else None
        transports.sources.append(MidiSource(config.inputs, decoder, thru, guard))


def attach(engine: Engine, transports: Transports, instrument: str | None = None) -> None:
    """Add ``transports`` to one instrument of ``engine`` (before ``engine.start()``)."""
    target = engine.instrument(instrument)
    engine.sources.extend((source, target.name) for source in transports.sources)
    engine.sinks.extend(transports.sinks)
    target.sinks.extend(transports.sinks)
    for listener in transports.listeners:
        engine.add_listener(listener)


def attach_configured(engine: Engine, config: RunConfig) -> Transports:
    """Build the transports ``config`` enables and attach them to the engine's first instrument."""
    dimension = engine.instrument().dimension
    transports = build_transports(
        config.midi, config.serial, config.websocket, None if dimension is None else dimension - 1
    )
    attach(engine, transports)
    return transports
