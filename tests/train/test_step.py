"""A training step's numeric setting: denormals flushed while it runs, and only then."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from foretell.data.dataset import Dataset  # noqa: E402
from foretell.train.config import TrainConfig  # noqa: E402
from foretell.train.loop import train  # noqa: E402
from foretell.train.step import denormals_flushed  # noqa: E402

SMALLEST_NORMAL = float(np.finfo(np.float32).tiny)


def _halved_smallest_normal() -> float:
    """Half float32's smallest normal number, computed on this thread: a denormal, or 0 where
    denormals are flushed."""
    return float(torch.tensor(SMALLEST_NORMAL) * 0.5)


def test_denormals_are_flushed_inside_and_kept_after() -> None:
    assert _halved_smallest_normal() == pytest.approx(SMALLEST_NORMAL / 2)
    with denormals_flushed():
        assert _halved_smallest_normal() == 0.0
    assert _halved_smallest_normal() == pytest.approx(SMALLEST_NORMAL / 2)


def test_training_leaves_the_threads_denormals_as_they_were() -> None:
    """The thread that trained may go on to play (learning while playing): its arithmetic is
    the usual IEEE arithmetic again afterwards, also after a failed step."""
    rng = np.random.default_rng(0)
    performance = np.column_stack([rng.exponential(0.1, 300), rng.uniform(size=(300, 2))])
    dataset = Dataset((performance.astype(np.float32),), 3)
    train(dataset, TrainConfig(units=8, epochs=1, seed=0))
    assert _halved_smallest_normal() == pytest.approx(SMALLEST_NORMAL / 2)
    with pytest.raises(RuntimeError), denormals_flushed():
        raise RuntimeError("a step failed")
    assert _halved_smallest_normal() == pytest.approx(SMALLEST_NORMAL / 2)
