"""``bench predict --moves`` and ``--models``: a moves model's step against the dense one's, the
two taking turns (the figures are the bench's; here what it times and what it prints)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from foretell.bench.harness import bench_spec
from foretell.bench.predict import bench_moves, moves_like
from foretell.cli import cli
from foretell.model.control_kinds import cell_indices, moved
from foretell.model.fileformat import ModelFile
from foretell.model.moves import MovesModel
from foretell.model.random import random_model_file, uniform_weights
from tests.moves_files import moves_model_file


def test_the_moves_model_has_the_dense_shape_and_a_lightpads_layout() -> None:
    dense = bench_spec(16, 4, 2, 5)
    spec = moves_like(dense)
    assert (spec.dimension, spec.layers, spec.units, spec.mixtures) == (4, 2, 16, 5)
    assert [kind.levels for kind in spec.controls] == [128, 128, 128]
    assert sorted(spec.patterns) == list(range(8)) and not spec.other_patterns
    assert spec.flat_ranges == ((0, 127),) * 3
    wide = moves_like(bench_spec(16, 9, 2, 5))  # 2^8 moving sets: each control alone, and none
    assert wide.patterns == (0, 1, 2, 4, 8, 16, 32, 64, 128) and wide.other_patterns


def test_the_timed_moves_model_plays_on_the_grid_moving_some_controls() -> None:
    spec = moves_like(bench_spec(16, 4, 2, 5))
    model = MovesModel(ModelFile(spec, uniform_weights(spec, np.random.default_rng(0))))
    voice = model.voice(np.random.default_rng(1))
    event, events = np.array([0.02, 64 / 127, 64 / 127, 64 / 127]), []
    for _ in range(300):
        event = voice.sample(voice.observe(event))
        events.append(event)
    played = np.array(events)
    np.testing.assert_allclose(played[:, 1:] * 127, np.round(played[:, 1:] * 127), atol=1e-9)
    counts = moved(cell_indices(played, spec.controls))[1:].sum(1)
    assert set(counts.tolist()) >= {1, 2, 3}


def test_bench_moves_times_both_side_by_side() -> None:
    spec = bench_spec(16, 4, 2, 5)
    figures = bench_moves(ModelFile(spec, uniform_weights(spec, np.random.default_rng(0))), 100)
    assert figures["dense_side_p50_ms"] > 0 and figures["moves_p50_ms"] > 0
    ratio = figures["moves_p50_ms"] / figures["dense_side_p50_ms"]
    assert figures["moves_ratio"] == round(ratio, 2)


def test_models_are_timed_side_by_side_each_against_the_first(tmp_path: Path) -> None:
    dense = random_model_file(tmp_path / "dense.ftm", dimension=4, units=8)
    moves = moves_model_file(tmp_path / "moves.ftm")
    result = CliRunner().invoke(
        cli, ["bench", "predict", "--models", f"{dense},{moves}", "--steps", "100", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["models"]
    assert [(r["model"], r["kind"]) for r in rows] == [(str(dense), "dense"), (str(moves), "moves")]
    assert rows[0]["ratio"] == 1.0
    assert rows[1]["ratio"] == round(rows[1]["p50_ms"] / rows[0]["p50_ms"], 2)
    text = CliRunner().invoke(cli, ["bench", "predict", "--models", f"{dense},{moves}"])
    assert text.exit_code == 0 and f"{moves} (moves): p50" in text.output


def test_a_missing_model_file_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bench", "predict", "--models", str(tmp_path / "no.ftm")])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: model file {tmp_path / 'no.ftm'} does not exist"
    ]
