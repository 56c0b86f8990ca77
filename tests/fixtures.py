"""Builders shared by tests: small models with random weights, small datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foretell.data.dataset import bundled_dataset_path, load_dataset
from foretell.model.fileformat import ModelFile, ModelSpec, save_model
from foretell.model.transform import DataTransform


def random_model(
    dimension: int = 4, units: int = 16, layers: int = 2, mixtures: int = 5, seed: int = 0
) -> ModelFile:
    """A model of the given shape with random weights and a transform fitted to plausible data."""
    rng = np.random.default_rng(seed)
    events = np.column_stack(
        [rng.lognormal(np.log(0.02), 0.6, 500), rng.random((500, dimension - 1))]
    )
    spec = ModelSpec(dimension, layers, units, mixtures, DataTransform.fit(events))
    weights = {
        name: (rng.standard_normal(shape) * 0.3).astype(np.float32)
        for name, shape in spec.tensor_shapes().items()
    }
    return ModelFile(spec, weights, {"name": "random-test-model"})


def random_model_file(path: Path, **kwargs: int) -> Path:
    return save_model(path, random_model(**kwargs))


def bundled_performances(limit: int = 400) -> list[np.ndarray]:
    """The first ``limit`` events of each bundled LightPad performance (real data, 4-D)."""
    dataset = load_dataset(bundled_dataset_path())
    return [p[:limit] for p in dataset.performances]
