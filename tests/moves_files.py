"""A small moves model file with random weights, for tests that play one end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.transform import DataTransform

EIGHTHS = ControlKind("grid", origin=0.0, step=1 / 8, levels=9)  # 0, 1/8, ..., 1


def moves_model_file(path: Path, seed: int = 0, steps: bool = False) -> Path:
    """Two grid controls (``EIGHTHS``) and a continuous one; any of the grid controls may move;
    with ``steps``, the network reads the grid controls' steps."""
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5), (0.8, 0.3, 0.3, 0.3))
    spec = MovesSpec(
        4, 1, 8, 3, transform, controls=(EIGHTHS, EIGHTHS, ControlKind("continuous")),
        patterns=(0, 1, 2, 3), other_patterns=False, step_inputs=steps,
    )  # fmt: skip
    return random_weights_file(path, spec, seed, 0.5, "moves")


def random_weights_file(path: Path, spec: MovesSpec, seed: int, spread: float, name: str) -> Path:
    """``spec`` saved at ``path`` with normal random weights of standard deviation ``spread``."""
    rng = np.random.default_rng(seed)
    weights = {
        n: (rng.standard_normal(s) * spread).astype(np.float32)
        for n, s in spec.tensor_shapes().items()
    }
    return save_model(path, ModelFile(spec, weights, {"name": name}))
