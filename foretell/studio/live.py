"""The running engine as the studio sees it: its one instrument, the take being recorded, and
commands with their outcome.

The studio answers requests on the server's loop; the engine runs on the show's. Every read and
every command here crosses over through ``ShowLoop`` (a short call between events there), and a
command's ``Outcome`` says whether it was taken and, for ``load``, when the model plays: nothing
is polled and no counter is compared.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from foretell import commands as control
from foretell.perform.engine import Engine
from foretell.perform.instrument import InstrumentSnapshot
from foretell.perform.show_loop import ShowLoop
from foretell.studio.errors import StudioError

STILL_LOADING = "still loading"


@dataclass(frozen=True)
class Facts:
    """What the studio's answers need of the instrument, read in one call."""

    current_take: Path | None  # the log being written now
    playing: Path | None  # the model file it plays
    dimension: int | None
    mode: str


@dataclass(frozen=True)
class Live:
    engine: Engine
    show: ShowLoop

    async def snapshot(self) -> InstrumentSnapshot:
        return await self.show(self.engine.instrument_snapshot)

    async def facts(self) -> Facts:
        return await self.show(self._facts)

    def _facts(self) -> Facts:
        snap = self.engine.instrument().snapshot()
        return Facts(
            current_take=Path(snap.log_path) if snap.logging and snap.log_path else None,
            playing=None if snap.model is None else Path(snap.model),
            dimension=snap.dimension,
            mode=snap.settings.mode,
        )

    async def current_take(self) -> Path | None:
        """The log file being written now (None while none is open)."""
        return (await self.facts()).current_take

    async def playing(self) -> Path | None:
        """The model file the instrument plays (None without one)."""
        return (await self.facts()).playing

    async def command(self, command: control.Command) -> str | None:
        """Apply ``command``; why the instrument refused it, or None if it took it."""
        outcome = await self.show(self.engine.command, command)
        return outcome.refused

    async def carry_out(self, command: control.Command, wait_s: float) -> str | None:
        """Apply ``command`` and, for a ``load``, wait until the model plays; why it was refused
        (``STILL_LOADING`` if it did not play within ``wait_s``), or None."""
        outcome = await self.show(self.engine.command, command)
        if outcome.refused is not None or outcome.played is None:
            return outcome.refused
        try:
            return await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(outcome.played)), wait_s
            )
        except TimeoutError:
            return STILL_LOADING

    async def load(self, path: Path, wait_s: float) -> None:
        """Hot-swap the model file ``path`` (of the models folder) in; return once it plays,
        ``StudioError`` with why not (or 504 if it still loads after ``wait_s``)."""
        why = await self.carry_out(control.LoadModel(path.name), wait_s)
        if why == STILL_LOADING:
            raise StudioError(f"model {path.stem!r} is still loading", 504)
        if why is not None:
            raise StudioError(why.replace(str(path.parent), "models"))
