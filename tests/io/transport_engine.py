"""A real engine (``build_session``) with extra transports attached, on a loop thread of its own."""

from __future__ import annotations

from foretell.config import RunConfig
from foretell.io.transports import Transports, attach
from foretell.perform.instrument import InstrumentSnapshot
from foretell.perform.session import EngineHandle, Session


class EngineThread(EngineHandle):
    """``EngineHandle`` whose session also gets ``transports``; ``with`` starts and stops it."""

    def __init__(self, config: RunConfig, transports: Transports) -> None:
        super().__init__(config)
        self.transports = transports

    def _build(self, config: RunConfig) -> Session:
        session = super()._build(config)
        attach(session.engine, self.transports)
        return session

    def __enter__(self) -> EngineThread:
        self.start()
        return self

    def instrument_snapshot(self) -> InstrumentSnapshot:
        """The (only) instrument's snapshot."""
        return self.snapshot().instruments[0]
