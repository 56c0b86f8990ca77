"""A real engine with transport sections added to its config, running on a thread of its own."""

from __future__ import annotations

import dataclasses

from foretell.config import RunConfig
from foretell.config.transports import MidiConfig, SerialConfig, WebSocketConfig
from foretell.perform.session import EngineHandle, start_engine

Section = MidiConfig | SerialConfig | WebSocketConfig


def engine_with(config: RunConfig, *sections: Section) -> EngineHandle:
    """``config`` with each of ``sections`` in place of its kind's, started (``with`` stops it)."""
    kinds = {MidiConfig: "midi", SerialConfig: "serial", WebSocketConfig: "websocket"}
    changes = {kinds[type(section)]: section for section in sections}
    return start_engine(dataclasses.replace(config, **changes))  # type: ignore[arg-type]
