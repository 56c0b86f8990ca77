"""Training progress as plain lines, for when stderr is not a terminal (logs, pipes, CI).

A line at most every ``every_s`` seconds (and always after the first epoch), each complete in
itself: epoch, training and validation NLL, the best so far, elapsed time and an ETA. The ETA is
an upper bound: the epochs left before the cap at the mean epoch time so far (patience may end
the run sooner, never later; a bound from patience alone, as before, said "ETA <= 1 s" after
the first epoch of a 3 s run, whose validation NLL kept improving to the cap). ``ProgressJson``
writes the same numbers as one JSON object per epoch, for a parent process to read (``foretell
studio``).
``end_line`` says why training ended, and on the epoch cap that the model was still improving and
how to go on.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import TextIO

from foretell.train.loop import EpochRecord, TrainResult

PROGRESS_EVERY_S = 5.0


class ProgressLines:
    """``on_epoch`` callback writing one line to ``stream`` every ``every_s`` seconds."""

    def __init__(
        self,
        epochs: int,
        stream: TextIO,
        every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.epochs, self.stream = epochs, stream
        self.every_s, self.clock = every_s, clock
        self.best, self.best_epoch = float("inf"), 0
        self.last_line: float | None = None

    def __call__(self, record: EpochRecord, improved: bool) -> None:
        if improved:
            self.best, self.best_epoch = record.val_nll, record.epoch
        now = self.clock()
        if self.last_line is not None and now - self.last_line < self.every_s:
            return
        self.last_line = now
        self.stream.write(self.line(record) + "\n")
        self.stream.flush()

    def eta_s(self, record: EpochRecord) -> float:
        """The ETA's upper bound: the epochs left to the cap at the mean epoch time so far."""
        return record.seconds / record.epoch * max(0, self.epochs - record.epoch)

    def line(self, record: EpochRecord) -> str:
        return (
            f"epoch {record.epoch}/{self.epochs}: train {record.train_nll:.3f} "
            f"val {record.val_nll:.3f} (best {self.best:.3f} at {self.best_epoch}), "
            f"{record.seconds:.1f} s elapsed, ETA <= {self.eta_s(record):.0f} s"
        )

    def close(self) -> None:
        """Nothing to release (the same interface as the terminal bar)."""


class ProgressJson(ProgressLines):
    """``on_epoch`` callback writing one JSON object per epoch to ``stream``, flushed:
    ``{"epoch", "epochs", "train", "val", "best_epoch", "best_val", "elapsed_s", "eta_s"}``.
    A value that is not finite (no best yet, a diverged epoch) is ``null``, so strict JSON
    readers (a browser) take every line."""

    def __init__(
        self, epochs: int, stream: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(epochs, stream, every_s=0.0, clock=clock)

    def line(self, record: EpochRecord) -> str:
        return json.dumps(
            {
                "epoch": record.epoch,
                "epochs": self.epochs,
                "train": _finite(record.train_nll),
                "val": _finite(record.val_nll),
                "best_epoch": self.best_epoch,
                "best_val": _finite(self.best),
                "elapsed_s": round(record.seconds, 3),
                "eta_s": round(self.eta_s(record), 3),
            }
        )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def end_line(result: TrainResult, patience: int) -> str:
    """Why training ended: patience, the epoch cap (still improving: ``--resume``), Ctrl-C."""
    if result.stopped == "patience":
        return (
            f"stopped on patience: no better validation NLL for "
            f"{result.epochs_run - result.best_epoch} epochs after epoch {result.best_epoch}"
        )
    if result.stopped == "interrupted":
        return f"stopped by Ctrl-C; kept the best model so far (epoch {result.best_epoch})"
    improving = result.best_epoch >= result.epochs_run - max(1, patience // 4)
    if improving:
        return (
            f"stopped on the epoch cap ({result.epochs_run}) while still improving (best at "
            f"epoch {result.best_epoch}): go on with --resume MODEL, or a higher --epochs"
        )
    return (
        f"stopped on the epoch cap ({result.epochs_run}); the best was at epoch "
        f"{result.best_epoch}, so more epochs would probably not help"
    )
