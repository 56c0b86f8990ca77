"""``bench predict --voices``: N voices of each kind timed alone and stacked (the figures are
the bench's; here only that each row is there and that the stacked step is the step)."""

from __future__ import annotations

import numpy as np

from foretell.bench.voices import bench_models, bench_voices, describe
from foretell.model import moves


def test_each_kind_and_count_has_a_row() -> None:
    rows = bench_voices([1, 4], units=16, dimension=4, repeats=50)
    assert [(r["kind"], r["voices"]) for r in rows] == [
        ("dense", 1), ("dense", 4), ("moves", 1), ("moves", 4),
    ]  # fmt: skip
    assert all(r["separate_us"] > 0 and r["stacked_us"] > 0 for r in rows)
    assert len(describe(rows)) == 4


def test_the_bench_moves_model_steps_stacked_as_alone() -> None:
    model = bench_models(16, 4, 2, 5)["moves"]
    assert isinstance(model, moves.MovesModel)
    voices = [model.voice(np.random.default_rng(i)) for i in range(6)]
    singles = [model.voice(np.random.default_rng(i)) for i in range(6)]
    events = [np.array([0.03, i / 127, 0.5, 1.0]) for i in range(6)]
    moves.step_together(model, voices, events)
    for voice, single, event in zip(voices, singles, events, strict=True):
        np.testing.assert_allclose(voice.prediction, single.observe(event), atol=1e-5, rtol=0)
