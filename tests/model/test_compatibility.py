"""Model files written before the model seam load and play exactly as that code played them.

``tests/model/data`` holds two small model files written by the code before ``foretell.model.
protocol`` existed (no ``kind`` in their metadata: they are dense), what that code generated
from them for fixed seeds (``foretell generate`` CSVs; full-precision performances, plain and
steered) and how it scored them (trace NLLs, plain and constrained), and what it generated from
IMPSY's shipped dim-4 model once imported (``tests/impsy/test_plays_as_before.py``).
``data/make_reference.py`` wrote them. Everything here
must match to the last bit: the same bytes, the same floats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.model.fileformat import load_model, read_metadata, save_model
from foretell.model.generate import generate_performance
from foretell.model.protocol import load
from foretell.model.runtime import DenseModel
from foretell.model.trace import trace_performance
from tests.model.data.make_reference import GENERATE, STEERED, STEPS

DATA = Path(__file__).parent / "data"
MODELS = {"dense": "dense-before-kinds.ftm", "impsy": "impsy-style-before-kinds.ftm"}


def generate_csv(model: Path, out: Path, seed: int, options: list[str]) -> bytes:
    args = ["generate", str(model), "--steps", str(STEPS), "--seed", str(seed), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, *options])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_old_file_has_no_kind_and_loads_as_dense(name: str) -> None:
    path = DATA / MODELS[name]
    assert "kind" not in read_metadata(path)
    assert isinstance(load(path), DenseModel)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generate_writes_the_same_bytes_as_before(name: str, tmp_path: Path) -> None:
    for seed, (label, options) in enumerate(GENERATE, start=11):
        got = generate_csv(DATA / MODELS[name], tmp_path / f"{label}.csv", seed, options)
        assert got == (DATA / f"{name}-{label}.csv").read_bytes(), label


@pytest.mark.parametrize("name", sorted(MODELS))
def test_playing_steering_and_scoring_give_the_same_floats_as_before(name: str) -> None:
    want = np.load(DATA / f"{name}-reference.npz")
    model = load(DATA / MODELS[name])
    generated = generate_performance(model.voice(np.random.default_rng(21)), STEPS, 0.8, 0.6)
    np.testing.assert_array_equal(generated, want["generated"])
    voice = model.voice(np.random.default_rng(22))
    event, steered = np.array([0.05, 0.5, 0.5, 0.5]), []
    for _ in range(STEPS):
        event = voice.sample(voice.observe(event), 1.0, 1.0, STEERED)
        steered.append(event)
    np.testing.assert_array_equal(np.array(steered), want["steered"])
    scorer = model.voice(np.random.default_rng(0))
    raw, nll = trace_performance(scorer, generated)
    np.testing.assert_array_equal(raw, want["raw"])
    np.testing.assert_array_equal(nll, want["nll"])
    _, steered_nll = trace_performance(scorer, np.array(steered), STEERED)
    np.testing.assert_array_equal(steered_nll, want["steered_nll"])


def test_a_file_saved_now_names_its_kind_and_plays_the_same(tmp_path: Path) -> None:
    old = DATA / MODELS["dense"]
    resaved = save_model(tmp_path / "resaved.ftm", load_model(old))
    assert read_metadata(resaved)["kind"] == "dense"
    options = GENERATE[0][1]
    first = generate_csv(old, tmp_path / "old.csv", 11, options)
    assert generate_csv(resaved, tmp_path / "new.csv", 11, options) == first
