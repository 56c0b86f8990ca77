"""Models with random weights: what benchmarks time and tests exercise (no training needed).

A random model costs exactly what a trained one of its shape costs. Its data transform is fitted
to plausible events (log-normal intervals, uniform controls), so what it plays stays in range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from foretell.model.fileformat import ModelFile, ModelSpec, save_model
from foretell.model.transform import DataTransform

Init = Literal["normal", "uniform"]
NORMAL_SCALE = 0.3  # standard deviation of ``normal`` weights


def uniform_weights(spec: ModelSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Weights uniform in ±1/sqrt(units): PyTorch's LSTM initialisation."""
    bound = 1.0 / np.sqrt(spec.units)
    return {
        name: rng.uniform(-bound, bound, shape).astype(np.float32)
        for name, shape in spec.tensor_shapes().items()
    }


def normal_weights(
    spec: ModelSpec, rng: np.random.Generator, scale: float = NORMAL_SCALE
) -> dict[str, np.ndarray]:
    """Weights drawn from a normal distribution of standard deviation ``scale``."""
    return {
        name: (rng.standard_normal(shape) * scale).astype(np.float32)
        for name, shape in spec.tensor_shapes().items()
    }


def plausible_transform(
    rng: np.random.Generator, dimension: int, events: int, median_dt: float, dt_spread: float
) -> DataTransform:
    """A transform fitted to ``events`` random events: log-normal dt (median ``median_dt``,
    log standard deviation ``dt_spread``) and uniform controls in [0, 1)."""
    data = np.column_stack(
        [rng.lognormal(np.log(median_dt), dt_spread, events), rng.random((events, dimension - 1))]
    )
    return DataTransform.fit(data)


def random_model(
    dimension: int = 4,
    units: int = 16,
    layers: int = 2,
    mixtures: int = 5,
    seed: int = 0,
    *,
    init: Init = "normal",
    events: int = 500,
    median_dt: float = 0.02,
    dt_spread: float = 0.6,
    info: dict[str, Any] | None = None,
) -> ModelFile:
    """A model of the given shape with random weights (``init``) and a plausible transform; one
    generator seeded with ``seed`` draws the transform's events, then the weights."""
    rng = np.random.default_rng(seed)
    transform = plausible_transform(rng, dimension, events, median_dt, dt_spread)
    spec = ModelSpec(dimension, layers, units, mixtures, transform)
    weights = uniform_weights(spec, rng) if init == "uniform" else normal_weights(spec, rng)
    return ModelFile(spec, weights, info if info is not None else {"name": "random"})


def random_model_file(path: Path, **kwargs: Any) -> Path:
    """``random_model(**kwargs)`` saved to ``path``."""
    return save_model(path, random_model(**kwargs))
