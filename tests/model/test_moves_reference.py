"""A moves model plays exactly what its first sampler played for the same seed.

``tests/model/data`` holds two small moves model files and what the moves model's first sampler
(before its step was made faster) played from them for fixed seeds under every temperature,
the activity temperature and steering, from a kept prediction and with four voices stepped
together; ``data/make_moves_reference.py`` wrote them, and wrote them again when a kept control
became the previous value exactly (it had been that value rounded to float32;
``data/compare_moves_reference.py`` shows what changed). A faster step draws the same random
numbers in the same order and does the same arithmetic, so everything must match to the last
bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.model.data.make_moves_reference import SETTINGS, played

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["mixed", "knobs"])
def test_a_moves_model_plays_the_same_floats_as_before(name: str) -> None:
    want = np.load(DATA / f"moves-{name}-reference.npz")
    got = played(DATA / f"moves-{name}.ftm", name)
    assert sorted(got) == sorted(want.files) == sorted([*SETTINGS, "kept", "together"])
    for label, events in got.items():
        np.testing.assert_array_equal(events, want[label], err_msg=label)
