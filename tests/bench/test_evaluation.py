"""`foretell bench all --quick` end to end: files, valid non-blank PNGs and the JSON schema."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.data.dataset import save_dataset
from tests.fixtures import bundled_performances

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOP_KEYS = {
    "schema": int,
    "profile": dict,
    "machine": dict,
    "wall_seconds": float,
    "load_average": dict,
    "data": dict,
    "training": dict,
    "prediction": dict,
    "live": dict,
    "temperatures": dict,
    "quality": dict,
    "comparison": list,
    "figures": list,
    "notes": list,
}


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One quick run, with a small stand-in for the 100k set (12 performances of real data)."""
    root = tmp_path_factory.mktemp("evaluation")
    chunks = [p[i : i + 150] for p in bundled_performances(900) for i in range(0, 450, 150)]
    save_dataset(root / "lightpad-100k-standin.npz", chunks[:12])
    out = root / "out"
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "all",
            "--quick",
            "--no-progress",
            "--out",
            str(out),
            "--data-100k",
            str(root / "lightpad-100k-standin.npz"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "results.json").read_text())


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_every_figure_is_a_valid_non_blank_png(evaluation: tuple[Path, dict[str, Any]]) -> None:
    from matplotlib import image

    out, results = evaluation
    files = {f["file"] for f in results["figures"]}
    assert files == {p.name for p in out.glob("*.png")}
    assert {
        "training-curves-12k.png",
        "training-curves-100k.png",
        "prediction-time.png",
        "live-latency.png",
        "temperatures.png",
        "quality-heldout-nll.png",
        "quality-dt-calibration.png",
    } <= files
    for name in files:
        width, height = _png_size(out / name)
        assert 300 < width < 2500 and 200 < height < 2000, name
        pixels = image.imread(out / name)[..., :3]
        ink = (pixels.mean(axis=-1) < 0.9).mean()
        assert ink > 0.01 and pixels.std() > 0.05, f"{name} looks blank"


def test_results_schema(evaluation: tuple[Path, dict[str, Any]]) -> None:
    _, results = evaluation
    for key, kind in TOP_KEYS.items():
        assert isinstance(results[key], kind), key
    assert results["profile"]["name"] == "quick"
    assert {"cpu", "cores", "ram_gb", "python", "numpy", "torch", "date"} <= set(results["machine"])
    runs = results["training"]["runs"]
    assert sorted((r["dataset"], r["units"], r["seed"]) for r in runs) == sorted(
        (name, units, seed) for name in ("12k", "100k") for units in (8, 16) for seed in (0, 1)
    )
    for run in runs:
        assert len(run["train_nll"]) == len(run["val_nll"]) == run["epochs_run"]
        assert run["best_val_nll"] == pytest.approx(min(run["val_nll"]), abs=1e-4)
        assert isinstance(run["overfits"], bool) and run["seconds_to_best"] <= run["train_seconds"]
    assert isinstance(results["training"]["observation"], str)
    test_sets = results["training"]["test_sets"]
    assert test_sets["100k"]["performances"] >= 1 and test_sets["12k"]["events"] > 0
    for row in results["training"]["configurations"]:  # mean and range over the two seeds
        mine = [
            r["test_nll"]
            for r in runs
            if (r["dataset"], r["units"]) == (row["dataset"], row["units"])
        ]
        assert row["seeds"] == [0, 1] and len(mine) == 2
        assert row["test_nll"]["mean"] == pytest.approx(np.mean(mine), abs=1e-4)
        assert row["test_nll"]["min"] == pytest.approx(min(mine), abs=1e-4)
    prediction = results["prediction"]
    assert [r["dim"] for r in prediction["by_dim"]] == [2, 4]
    assert all(r["p50_ms"] > 0 and r["torch_p50_ms"] > 0 for r in prediction["by_units"])
    live = results["live"]
    assert live["sent"] > 0 and live["round_trip"]["p50_ms"] > 0
    grid = results["temperatures"]["grid"]
    assert len(grid) == 4 and grid[0]["mean_ks"] == min(r["mean_ks"] for r in grid)
    assert all(0 <= r["dt"]["ks"] <= 1 for r in grid)
    quality = results["quality"]
    labels = {r["label"] for r in quality["nll"]}
    assert {"repeat (12k)", "var1 (100k)", "MDRNN 16 (12k)"} <= labels
    assert all(
        np.isfinite(v) for r in quality["nll"] for k, v in r.items() if k.endswith("held out")
    )
    for coverage in quality["dt_coverage"].values():
        assert set(coverage) == {"50", "80", "95"}
        assert coverage["50"] <= coverage["80"] <= coverage["95"] <= 1
    assert quality["consistency"]
    for check in quality["consistency"]:  # trace (NumPy) on the test set vs torch's test NLL
        assert check["trace_nll"] == pytest.approx(check["torch_test_nll"], abs=2e-3)
        assert check["torch_test_nll"] != pytest.approx(check["train_best_val_nll"], abs=1e-3)
    rows = results["comparison"]
    assert any(r["reference"] == "paper (laptop)" and r["ratio"] > 0 for r in rows)


def test_readme_embeds_every_figure(evaluation: tuple[Path, dict[str, Any]]) -> None:
    out, results = evaluation
    readme = (out / "README.md").read_text()
    for figure in results["figures"]:
        assert f"]({figure['file']})" in readme
    for heading in ("## Machine", "## Paper vs foretell", "## 1. Training curves"):
        assert heading in readme


def test_test_sets_are_held_out_of_training_and_of_each_other() -> None:
    """The three-way split: no test performance is in what any model trains or validates on."""
    from foretell.bench.evaluation_setup import test_splits
    from foretell.data.dataset import Dataset

    perfs = [np.asarray(p, np.float32) for p in bundled_performances(600)]
    chunks = [p[i : i + 100] for p in perfs for i in range(0, 600, 100)]
    small = Dataset(tuple(chunks[:4]), 4, "12k")  # the 12k set is part of the 100k set
    large = Dataset(tuple(chunks), 4, "100k")
    splits = test_splits({"12k": small, "100k": large})
    assert splits["100k"].by == "performance" and splits["100k"].test
    assert splits["100k"].trainable.events + sum(map(len, splits["100k"].test)) == large.events
    trained = {p.tobytes() for s in splits.values() for p in s.trainable.performances}
    tested = {p.tobytes() for p in splits["100k"].test}
    assert not trained & tested
    assert not {p.tobytes() for p in small.performances} & tested  # 12k models never saw them
