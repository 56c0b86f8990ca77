"""An instrument's performance log: opened once the instrument's size is known, a new take on
command, a summary at stop.

It wraps the run's ``LogWriter`` (``foretell.data.log``), which writes the files; without one
(logging off) every call does nothing, so the instrument never asks whether it logs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from foretell.data.log import LogWriter, take_file_name
from foretell.errors import LogFormatError
from foretell.events import Event

log = logging.getLogger(__name__)


class TakeLog:
    """One instrument's log and its takes (call on the engine's loop)."""

    def __init__(self, instrument: str, writer: LogWriter | None) -> None:
        self.instrument = instrument
        self.writer = writer

    @property
    def path(self) -> Path | None:
        return None if self.writer is None else self.writer.path

    @property
    def is_open(self) -> bool:
        return self.writer is not None and self.writer.is_open

    @property
    def rows(self) -> int:
        return 0 if self.writer is None else self.writer.rows

    @property
    def not_logged(self) -> int:
        return 0 if self.writer is None else self.writer.not_logged

    def open(self, dimension: int) -> None:
        """Open the log for rows of ``dimension``, unless it is off or open already."""
        if self.writer is not None and not self.writer.is_open:
            path = self.writer.open(dimension)
            log.debug("%s: logging to %s", self.instrument, path)

    def new_take(self, take: str, dimension: int | None, refuse: Callable[[str], None]) -> None:
        """Close the log and go on in the take ``take``; if it cannot be, ``refuse`` is told why
        (and logging goes on, in a file named by the time)."""
        if self.writer is None or dimension is None:
            why = "logging is off" if self.writer is None else "the dimension is not known yet"
            refuse(f"take {take}: {why}")
            return
        if (self.writer.directory / take_file_name(take, dimension)).exists():
            refuse(f"take {take}: a take of that name exists already")
            return
        self.writer.close(keep_empty=False)  # a take with nothing played leaves no file
        try:
            path = self.writer.open(dimension, take=take)
        except LogFormatError as exc:
            refuse(f"take {take}: {exc}")
            with contextlib.suppress(LogFormatError):
                self.writer.open(dimension)  # go on logging, named by the time as before
            return
        log.info("%s: take %s in %s", self.instrument, take, path)

    def write(self, event: Event, at: float | None = None) -> int:
        """Log ``event`` (stamped ``at``); its row number, 0 when nothing was written."""
        return 0 if self.writer is None else self.writer.write(event, at)

    def note(self, kind: str, **fields: Any) -> None:
        """A record in the sidecar (``LogWriter.note``)."""
        if self.writer is not None:
            self.writer.note(kind, **fields)

    def close(self, counters: dict[str, Any]) -> None:
        """Note the session's ``counters`` and the log's own summary, and close the files."""
        if self.writer is not None:
            self.writer.note("summary", **counters, log=self.writer.summary())
            self.writer.close()
