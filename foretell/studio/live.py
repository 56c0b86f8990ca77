"""The running engine as the studio sees it: its one instrument, the take being recorded, and
commands whose refusal is read back (the engine applies a command at once, on the loop the
studio's requests are answered on, and counts what it refuses)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from foretell import commands as control
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, InstrumentSnapshot
from foretell.studio.errors import StudioError


@dataclass(frozen=True)
class Live:
    engine: Engine

    @property
    def instrument(self) -> Instrument:
        return self.engine.instrument()

    def snapshot(self) -> InstrumentSnapshot:
        return self.engine.instrument_snapshot()

    def current_take(self) -> Path | None:
        """The log file being written now (None while none is open)."""
        log = self.instrument.log
        return log.path if log is not None and log.is_open else None

    def playing(self) -> Path | None:
        """The model file the instrument plays (None without one)."""
        model = self.instrument.model_name
        return None if model is None else Path(model)

    def command(self, command: control.Command) -> str | None:
        """Apply ``command``; why the instrument refused it, or None if it took it."""
        rejections = self.instrument.rejections
        before = dict(rejections.counts)
        self.engine.command(command)
        changed = [kind for kind, n in rejections.counts.items() if n != before.get(kind, 0)]
        return rejections.latest[changed[0]] if changed else None

    async def load(self, path: Path, wait_s: float) -> None:
        """Hot-swap the model file ``path`` (of the models folder) in; return once it plays,
        ``StudioError`` with why not (or 504 if it still loads after ``wait_s``)."""
        inst = self.instrument
        before = inst.rejections.counts["bad_model"]
        refused = self.command(control.LoadModel(path.name))
        if refused is not None:
            raise StudioError(refused)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while inst.model_name != str(path):
            if inst.rejections.counts["bad_model"] != before:
                raise StudioError(inst.rejections.latest.get("bad_model", "the model did not load"))
            if loop.time() > deadline:
                raise StudioError(f"model {path.stem!r} is still loading", 504)
            await asyncio.sleep(0.02)
