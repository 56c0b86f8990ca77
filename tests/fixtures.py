"""Data shared by tests: the bundled performances (random models: ``foretell.model.random``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foretell.data.dataset import bundled_dataset_path, load_dataset, save_dataset


def bundled_performances(limit: int = 400) -> list[np.ndarray]:
    """The first ``limit`` events of each bundled LightPad performance (real data, 4-D)."""
    dataset = load_dataset(bundled_dataset_path())
    return [p[:limit] for p in dataset.performances]


def small_dataset(path: Path, limit: int = 300) -> Path:
    """A small real dataset (``bundled_performances(limit)``) saved at ``path``: an xs model
    trains on it in about a second an epoch."""
    save_dataset(path, bundled_performances(limit))
    return path
