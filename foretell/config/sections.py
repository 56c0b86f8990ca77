"""Each instrument's transport sections of a run (one of each kind in ``TRANSPORTS``), checked
across instruments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from foretell.config.run import RunConfig
from foretell.config.transports import TRANSPORTS
from foretell.errors import ConfigError


@dataclass(frozen=True)
class TransportSections:
    """The transport sections of one instrument (``None``: the first one), by kind."""

    instrument: str | None
    sections: Mapping[str, Any]

    def section(self, kind: str) -> Any:
        return self.sections[kind]


def transport_sections(config: RunConfig) -> list[TransportSections]:
    """Each instrument's transport sections; the top-level ones are the first instrument's.

    One ``ConfigError`` line for a section given both at the top and in the first instrument's
    table, and for what two instruments may not share (a serial device, a WebSocket port).
    """
    top = TransportSections(None, {kind: getattr(config, kind) for kind in TRANSPORTS})
    if not config.instrument:
        return [top]
    sections = []
    for index, inst in enumerate(config.instrument):
        chosen = {}
        for kind in TRANSPORTS:
            own, top_section = getattr(inst, kind), top.section(kind)
            inherited = top_section if index == 0 else type(top_section)()
            if own is not None and inherited.enabled:
                raise ConfigError(
                    f"[{kind}] and [instrument.{inst.name}.{kind}] both set up the first "
                    f"instrument's {kind} (keep one)"
                )
            chosen[kind] = inherited if own is None else own
        sections.append(TransportSections(inst.name, chosen))
    for entry in TRANSPORTS.values():
        _check_unique(sections, entry.kind, entry.shares)
    return sections


def _check_unique(
    sections: list[TransportSections],
    kind: str,
    shares: Callable[[Any], tuple[object, str] | None],
) -> None:
    taken: dict[object, str | None] = {}
    for section in sections:
        shared = shares(section.section(kind))
        if shared is None:
            continue
        key, shown = shared
        if key in taken:
            raise ConfigError(
                f"instruments {taken[key]!r} and {section.instrument!r} both use {kind} "
                f"{shown} (give each its own)"
            )
        taken[key] = section.instrument
