"""Loss curves of a training run, written beside the model: ``MODEL.curves.csv`` and ``.png``.

The CSV has one row per epoch (``epoch,train_nll,val_nll,learning_rate,seconds``); the PNG plots
training and validation NLL (data space, nats per event) and marks the best epoch. Plotting uses
matplotlib's Agg backend (no display needed); without matplotlib only the CSV is written.
``foretell train`` has the PNG drawn by a child process that loaded matplotlib while training
ran (``foretell.train.curve_painter``).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from foretell.plotting import pyplot_or_none, save_figure

if TYPE_CHECKING:
    from foretell.train.loop import EpochRecord

log = logging.getLogger(__name__)
COLUMNS = ("epoch", "train_nll", "val_nll", "learning_rate", "seconds")


def curve_paths(model_path: Path) -> tuple[Path, Path]:
    """``MODEL.curves.csv`` and ``MODEL.curves.png`` for ``MODEL.ftm``."""
    stem = model_path.with_suffix("")
    return stem.with_name(stem.name + ".curves.csv"), stem.with_name(stem.name + ".curves.png")


def write_csv(path: Path, history: Sequence[EpochRecord]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in history:
            writer.writerow(
                [
                    r.epoch,
                    f"{r.train_nll:.6f}",
                    f"{r.val_nll:.6f}",
                    f"{r.learning_rate:.3g}",
                    f"{r.seconds:.3f}",
                ]
            )
    return path


@dataclass(frozen=True)
class Curves:
    """The columns the picture plots (what the painter's child process is sent)."""

    epochs: list[int]
    train_nll: list[float]
    val_nll: list[float]

    @classmethod
    def of(cls, history: Sequence[EpochRecord]) -> Curves:
        return cls(
            [r.epoch for r in history], [r.train_nll for r in history], [r.val_nll for r in history]
        )


def draw_png(path: Path, curves: Curves, best_epoch: int, title: str) -> Path | None:
    """Plot ``curves`` to ``path``; ``None`` (logged) when matplotlib is missing."""
    plt = pyplot_or_none("loss-curve plot")
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(curves.epochs, curves.train_nll, label="train")
    ax.plot(curves.epochs, curves.val_nll, label="validation")
    if best_epoch:
        ax.axvline(best_epoch, color="grey", linestyle=":", label=f"best (epoch {best_epoch})")
    ax.set(xlabel="epoch", ylabel="NLL per event (nats, data space)", title=title)
    ax.legend()
    return save_figure(plt, fig, path)


def write_curves(
    model_path: Path,
    history: Sequence[EpochRecord],
    best_epoch: int,
    title: str = "",
    draw: Callable[[Path, Curves, int, str], Path | None] = draw_png,
) -> list[Path]:
    """Write the CSV and (if possible) the PNG beside ``model_path``, the PNG by ``draw``
    (``CurvePainter.paint`` hands it to a warm child process); return what was written."""
    csv_path, png_path = curve_paths(model_path)
    written = [write_csv(csv_path, history)]
    png = draw(png_path, Curves.of(history), best_epoch, title or model_path.name)
    return written + ([png] if png else [])
