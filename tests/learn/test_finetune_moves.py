"""Learning while playing takes a moves model (``foretell train``'s default) as it takes a dense
one: the learner starts on it, and a fine-tune keeps its kind, its controls' grids and what may
move, and plays on the grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import build_model, load_voice
from foretell.model.transform import DataTransform
from tests.learn.test_live_learning import FAST
from tests.moves_files import random_weights_file
from tests.perform.helpers import instrument

pytest.importorskip("torch", reason="fine-tuning needs the train extra (torch)")

GRID = ControlKind("grid", origin=0.0, step=1 / 8, levels=9)


def moves_file(path: Path) -> Path:
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5), (0.8, 0.3, 0.3, 0.3))
    spec = MovesSpec(
        4, 1, 8, 3, transform, controls=(GRID, GRID, GRID),
        patterns=(1, 2, 4), other_patterns=False,
    )  # fmt: skip
    return random_weights_file(path, spec, 0, 0.3, "knobs")


def one_knob_at_a_time(rng: np.random.Generator, events: int) -> np.ndarray:
    """A knob box played one knob at a time, on the 1/8 grid."""
    rows = np.empty((events, 4))
    values = rng.integers(0, 9, 3) / 8
    for i in range(events):
        knob = rng.integers(0, 3)
        values[knob] = (round(values[knob] * 8) + rng.choice([-1, 1])) % 9 / 8
        rows[i] = [rng.lognormal(-3.0, 0.5), *values]
    return rows


def test_a_moves_model_is_fine_tuned_into_a_moves_model_on_its_grid(tmp_path: Path) -> None:
    from foretell.config.learn import LearnConfig, LearnSchedule
    from foretell.data.dataset import bundled_dataset_path
    from foretell.learn.coordinator import Learner
    from foretell.learn.finetune import finetune

    path = moves_file(tmp_path / "knobs.ftm")
    inst, clock, _ = instrument("filter")
    assert inst.swap_runtime(load_voice(path, seed=1))
    config = LearnConfig(LearnSchedule("demand"), tmp_path / "models", bundled_dataset_path())
    learner = Learner(config, inst, clock, post=lambda call: call())
    assert learner.start() is not False and learner.state != "unavailable"
    learner.stop()

    base = build_model_file(path)
    rng = np.random.default_rng(2)
    result = finetune(base, [one_knob_at_a_time(rng, 400) for _ in range(3)], None, FAST)
    assert result.model.spec == base.spec  # the same kind, grids and moving sets
    assert any(not np.array_equal(result.model.weights[n], base.weights[n]) for n in base.weights)
    voice = build_model(result.model).voice(np.random.default_rng(3))
    voice.observe(np.array([0.05, 0.25, 0.5, 0.75]))
    for _ in range(200):
        event = voice.sample(voice.prediction)
        assert np.all(np.abs(event[1:] * 8 - np.round(event[1:] * 8)) < 1e-9)
        voice.observe(event)


def build_model_file(path: Path) -> ModelFile:
    from foretell.model.fileformat import load_model

    return load_model(path)
