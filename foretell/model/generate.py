"""Free-running generation: the model fed its own samples, one event at a time."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from foretell.model.control_kinds import snap_to_cells
from foretell.model.runtime import Runtime


def generate_performance(
    runtime: Runtime,
    steps: int,
    pi_temp: float = 1.0,
    sigma_temp: float = 1.0,
    first: np.ndarray | None = None,
) -> np.ndarray:
    """``steps`` generated events ``(steps, D)`` after ``first`` (default: a centred touch)."""
    dimension = runtime.spec.dimension
    event = np.full(dimension, 0.5) if first is None else np.asarray(first, dtype=np.float64)
    if first is None:
        event[0] = 0.02
        if runtime.spec.controls is not None:  # the centred touch on the controls' grids and sets
            event = snap_to_cells(runtime.spec.controls, event)
    runtime.reset()
    out = np.empty((steps, dimension))
    for i in range(steps):
        event = runtime.sample(runtime.predict(event), pi_temp, sigma_temp)
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
