"""Training progress as plain lines, for when stderr is not a terminal (logs, pipes, CI).

A line at most every ``every_s`` seconds (and always after the first epoch), each complete in
itself: epoch, training and validation NLL, the best so far, elapsed time and an ETA. The ETA is
an upper bound: the epochs left before the cap, or before patience would run out if validation
did not improve again, whichever is fewer, at the mean epoch time so far. ``end_line`` says why
training ended, and on the epoch cap that the model was still improving and how to go on.
"""

from __future__ import annotations

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
        patience: int,
        stream: TextIO,
        every_s: float = PROGRESS_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.epochs, self.patience, self.stream = epochs, patience, stream
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

    def epochs_left(self, epoch: int) -> int:
        """At most this many epochs remain (the cap, or patience running out)."""
        return max(0, min(self.epochs - epoch, self.best_epoch + self.patience - epoch))

    def line(self, record: EpochRecord) -> str:
        per_epoch = record.seconds / record.epoch
        eta = per_epoch * self.epochs_left(record.epoch)
        return (
            f"epoch {record.epoch}/{self.epochs}: train {record.train_nll:.3f} "
            f"val {record.val_nll:.3f} (best {self.best:.3f} at {self.best_epoch}), "
            f"{record.seconds:.1f} s elapsed, ETA <= {eta:.0f} s"
        )

    def close(self) -> None:
        """Nothing to release (the same interface as the terminal bar)."""


def end_line(result: TrainResult, patience: int) -> str:
    """Why training ended: patience, the epoch cap (still improving: ``--resume``), Ctrl-C."""
    if result.stopped == "patience":
        return (
            f"stopped on patience: no better validation NLL for {patience} epochs after "
            f"epoch {result.best_epoch}"
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
