"""Free-running generation: the model fed its own samples, one event at a time."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from foretell.model.control_kinds import kinds_of, snap_to_cells
from foretell.model.protocol import Voice


def generate_performance(
    voice: Voice,
    steps: int,
    pi_temp: float = 1.0,
    sigma_temp: float = 1.0,
    first: np.ndarray | None = None,
    activity_temp: float = 1.0,
) -> np.ndarray:
    """``steps`` generated events ``(steps, D)`` after ``first`` (default: a centred touch)."""
    dimension = voice.model.dimension
    event = np.full(dimension, 0.5) if first is None else np.asarray(first, dtype=np.float64)
    if first is None:
        event[0] = 0.02
        kinds = kinds_of(voice.model.file.spec)
        if kinds is not None:  # the centred touch on the controls' grids and sets
            event = snap_to_cells(kinds, event)
    voice.reset()
    out = np.empty((steps, dimension))
    for i in range(steps):
        event = voice.sample(voice.observe(event), pi_temp, sigma_temp, None, activity_temp)
        out[i] = event
    return out


def write_performance_csv(path: Path, performance: np.ndarray) -> None:
    """CSV with a header ``dt,x1,...,xN`` and one row per event."""
    path.parent.mkdir(parents=True, exist_ok=True)
    controls = performance.shape[1] - 1
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["dt", *(f"x{i + 1}" for i in range(controls))])
        writer.writerows([f"{v:.6g}" for v in row] for row in performance)
