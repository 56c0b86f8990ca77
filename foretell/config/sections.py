"""Each instrument's MIDI, serial and WebSocket sections of a run, checked across instruments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from foretell.config.instruments import TRANSPORTS
from foretell.config.run import RunConfig
from foretell.config.transports import MidiConfig, SerialConfig, WebSocketConfig
from foretell.errors import ConfigError


@dataclass(frozen=True)
class TransportSections:
    """The MIDI, serial and WebSocket sections of one instrument (``None``: the first one)."""

    instrument: str | None
    midi: MidiConfig
    serial: SerialConfig
    websocket: WebSocketConfig


def transport_sections(config: RunConfig) -> list[TransportSections]:
    """Each instrument's transport sections; the top-level ones are the first instrument's.

    One ``ConfigError`` line for a section given both at the top and in the first instrument's
    table, and for a serial device or WebSocket port that two instruments both name.
    """
    top = TransportSections(None, config.midi, config.serial, config.websocket)
    if not config.instrument:
        return [top]
    sections = []
    for index, inst in enumerate(config.instrument):
        chosen = {}
        for kind in TRANSPORTS:
            own, top_section = getattr(inst, kind), getattr(top, kind)
            inherited = top_section if index == 0 else type(top_section)()
            if own is not None and inherited.enabled:
                raise ConfigError(
                    f"[{kind}] and [instrument.{inst.name}.{kind}] both set up the first "
                    f"instrument's {kind} (keep one)"
                )
            chosen[kind] = inherited if own is None else own
        sections.append(TransportSections(inst.name, **chosen))
    _check_unique(sections, "serial", lambda s: s.serial.port)
    _check_unique(
        sections, "websocket", lambda s: s.websocket.port and (s.websocket.host, s.websocket.port)
    )
    return sections


def _check_unique(
    sections: list[TransportSections], kind: str, key: Callable[[TransportSections], object]
) -> None:
    taken: dict[object, str | None] = {}
    for section in sections:
        value = key(section)
        if value and value in taken:
            raise ConfigError(
                f"instruments {taken[value]!r} and {section.instrument!r} both use {kind} "
                f"{getattr(section, kind).port} (give each its own)"
            )
        taken[value] = section.instrument
