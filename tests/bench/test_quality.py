"""Distances, baselines and dt calibration (NumPy only), and the small bench commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.bench import quality as q
from foretell.cli import cli
from foretell.data.dataset import bundled_dataset_path, save_dataset
from foretell.model.random import random_model, random_model_file
from foretell.model.runtime import DenseModel
from foretell.model.transform import DataTransform
from tests.fixtures import bundled_performances


def test_distances_of_shifted_samples() -> None:
    a = np.arange(100.0)
    assert q.wasserstein1(a, a + 3.0) == pytest.approx(3.0)
    assert q.ks_statistic(a, a + 3.0) == pytest.approx(0.03)
    assert q.wasserstein1(a, a) == 0.0 and q.ks_statistic(a, a) == 0.0
    assert q.ks_statistic(np.zeros(5), np.ones(7)) == 1.0


def test_baselines_fit_and_score_real_data() -> None:
    perfs = bundled_performances(600)
    train, held = [p[:500] for p in perfs], [p[500:] for p in perfs]
    spec = random_model().spec
    transform = DataTransform.fit(np.concatenate(train), dt_offset=0.04)
    fitted = q.fit_baselines(train, transform, spec)
    scores = {name: q.baseline_nll(b, held)["mean_nll"] for name, b in fitted.items()}
    assert set(scores) == set(q.BASELINES)
    assert all(np.isfinite(v) for v in scores.values())
    # Touch data moves smoothly: using the last event beats ignoring it.
    assert scores["var1"] < scores["iid"] and scores["repeat"] < scores["iid"]


def test_dt_pit_is_uniform_for_events_drawn_from_the_prediction() -> None:
    model = random_model(units=8)
    runtime = DenseModel(model).voice(np.random.default_rng(1))
    raw = runtime.observe(np.array([0.02, 0.5, 0.5, 0.5])).copy()
    events = np.array([runtime.sample(raw) for _ in range(4000)])
    pit = q.dt_pit(model.spec, np.repeat(raw[None], len(events), 0), events)
    coverage = q.coverage(pit)
    # The floor component (weight 1e-3) is never sampled, so coverage is within noise of nominal.
    for level, observed in coverage.items():
        assert observed == pytest.approx(int(level) / 100, abs=0.03)


def test_bench_quality_and_temperatures_commands(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", units=8)
    held = tmp_path / "held.npz"
    save_dataset(held, [p[:200] for p in bundled_performances(200)])
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "bench",
            "quality",
            str(model),
            str(held),
            "--train-data",
            str(bundled_dataset_path()),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary["baselines"]) == set(q.BASELINES)
    assert set(summary["model_score"]["dt_coverage"]) == {"50", "80", "95"}
    pytest.importorskip("matplotlib")
    out = tmp_path / "temps"
    result = runner.invoke(
        cli,
        [
            "bench",
            "temperatures",
            "--model",
            str(model),
            "--out",
            str(out),
            "--seconds",
            "1",
            "--steps",
            "100",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "temperatures.png").stat().st_size > 10_000
    grid = json.loads(result.stdout.strip().splitlines()[-1])["grid"]
    assert len(grid) == 12
