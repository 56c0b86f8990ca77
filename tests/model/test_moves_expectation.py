"""A moves model's expectation (the dashboard's "expected next") against what its sampler plays,
on a prediction set by hand: the flat share of grid controls and the "other" moving sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.model.fileformat import ModelFile, save_model
from foretell.model.moves import MovesVoice
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import load_voice
from foretell.model.transform import DataTransform
from tests.moves_files import EIGHTHS

BEFORE = np.array([0.1, 0.0, 0.5])  # grid control 0 in cell 0, control 1 in the middle
DRAWS = 8000


def voice_with(tmp_path: Path, patterns: tuple[int, ...], other: bool) -> MovesVoice:
    """Two grid controls on eighths, one component, a flat part over cells 1..8 and 0..8."""
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5), (0.8, 0.3, 0.3))
    spec = MovesSpec(
        3, 1, 4, 1, transform, controls=(EIGHTHS, EIGHTHS), patterns=patterns,
        other_patterns=other, flat_ranges=((1, 8), (0, 8)),
    )  # fmt: skip
    rng = np.random.default_rng(0)
    weights = {
        n: rng.standard_normal(s).astype(np.float32) for n, s in spec.tensor_shapes().items()
    }
    path = save_model(tmp_path / "m.ftm", ModelFile(spec, weights, {"name": "flat"}))
    voice = load_voice(path, seed=2)
    assert isinstance(voice, MovesVoice)
    return voice


def prediction(voice: MovesVoice, joint: list[float], flat_logit: float) -> np.ndarray:
    """The head's output by hand: grid logistics centred on 1/8 with a narrow scale, dt's
    Gaussian anywhere, the joint logits and flat logits given; then the event before."""
    layout = voice.layout
    raw = np.zeros(layout.params)
    g = layout.gaussians  # dt, grid 0, grid 1
    raw[:g] = [0.0, (0.125 - 0.5) / 0.3, (0.125 - 0.5) / 0.3]  # mu, network units
    raw[g : 2 * g] = [0.5, 0.01, 0.01]  # spreads
    raw[layout.joint_start : layout.flat_start] = joint
    raw[layout.flat_start :] = flat_logit
    return np.concatenate([raw, BEFORE]).astype(np.float32)


def test_the_expected_grid_value_is_the_mean_of_the_logistic_and_the_flat_share(
    tmp_path: Path,
) -> None:
    """With a flat share f the sampler plays the logistic (here always 1/8) with 1 - f and an
    even cell of 1/8..1 with f (averaging 9/16; neither reaches the previous value, 0)."""
    voice = voice_with(tmp_path, patterns=(0, 1, 2), other=False)
    share = 1 / (1 + np.exp(-1.5))
    pred = prediction(voice, [-20.0, 10.0, -20.0], 1.5)  # control 0 moves alone
    played = np.array([voice.sample(pred)[1] for _ in range(DRAWS)])
    assert (played != BEFORE[1]).all()
    expected = (1 - share) * 0.125 + share * 9 / 16
    assert played.mean() == pytest.approx(expected, abs=0.01)
    centre, lo, hi = voice.model.expected(pred, 1.0, 1.0)["components"][0]["x"][0]
    assert centre == pytest.approx(expected, abs=1e-6)
    assert (hi - lo) / 2 == pytest.approx(played.std(), rel=0.05)  # the mixture's spread
    # no flat share: the logistic alone, as before
    bare = voice.model.expected(prediction(voice, [-20.0, 10.0, -20.0], -50.0), 1.0, 1.0)
    assert bare["components"][0]["x"][0] == pytest.approx([0.125, 0.122, 0.128], abs=1e-3)
    # at sigma-temperature 0 the sampler plays the logistic's mode: so does the expectation
    cold = voice.model.expected(pred, 1.0, 0.0)["components"][0]["x"][0]
    assert cold == pytest.approx([0.125] * 3, abs=1e-6)
    assert voice.sample(pred, 1.0, 0.0)[1] == 0.125


def test_the_expected_moves_count_the_other_moving_sets(tmp_path: Path) -> None:
    """Named sets: none and control 0 alone; the "other" slot shares {1} and {0, 1} evenly, so
    with all its weight control 1 always moves and control 0 half the time."""
    voice = voice_with(tmp_path, patterns=(0, 1), other=True)
    pred = prediction(voice, [-20.0, -20.0, 10.0], -50.0)
    moves = voice.model.expected(pred, 1.0, 1.0)["moves"]
    played = np.array([voice.sample(pred)[1:] != BEFORE[1:] for _ in range(DRAWS)])
    assert played.mean(axis=0) == pytest.approx([0.5, 1.0], abs=0.02)
    assert moves == pytest.approx([0.5, 1.0], abs=1e-6)
