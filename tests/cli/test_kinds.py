"""``foretell train`` picks control kinds from the data; trace and generate play either model."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from foretell.bench.instruments import INSTRUMENTS
from foretell.data.dataset import save_dataset
from foretell.model.control_kinds import cell_indices, moved
from foretell.model.fileformat import ModelFile, ModelSpec, load_model, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.transform import DataTransform

# ``foretell generate --steps 300 --pi-temp 0.8 --sigma-temp 0.7 --seed 3`` on ``_old_file``,
# written by foretell before control kinds existed (main at 99279af): the same bytes now.
OLD_GENERATE_SHA256 = "abb397e0a239c94e66b772655db52b1749b3be587263ef2dc49ed1e2cd41fb30"


def foretell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "foretell", *args], capture_output=True, text=True)


def _old_file(path: Path) -> Path:
    """A dense model as every file before kinds: no ``controls`` in its architecture."""
    rng = np.random.default_rng(7)
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.4), (0.8, 0.3, 0.3, 0.2))
    spec = ModelSpec(4, 2, 16, 3, transform)
    weights = {
        n: (rng.standard_normal(s) * 0.4).astype(np.float32)
        for n, s in spec.tensor_shapes().items()
    }
    return save_model(path, ModelFile(spec, weights))


def test_an_old_file_generates_the_same_bytes(tmp_path: Path) -> None:
    model = _old_file(tmp_path / "old.ftm")
    result = foretell(
        "generate", str(model), "--steps", "300", "--pi-temp", "0.8", "--sigma-temp", "0.7",
        "--seed", "3", "--out", str(tmp_path / "g.csv"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256((tmp_path / "g.csv").read_bytes()).hexdigest() == OLD_GENERATE_SHA256


@pytest.fixture(scope="module")
def knobs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("knobs")
    dataset = INSTRUMENTS["knobs"].dataset(0, 0.03)  # 1,500 events in 8 performances
    save_dataset(folder / "knobs.npz", list(dataset.performances))
    return folder / "knobs.npz"


@pytest.fixture(scope="module")
def trained(knobs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("models")
    out = {}
    for name, extra in (("default", []), ("dense", ["--dense"])):
        path = folder / f"{name}.ftm"
        result = foretell(
            "train", str(knobs), "--size", "xxs", "--epochs", "3", "--out", str(path), "--json",
            *extra,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        out[name] = path
    return out


def test_train_picks_grids_for_midi_knobs_and_dense_on_request(trained: dict[str, Path]) -> None:
    default, dense = load_model(trained["default"]), load_model(trained["dense"])
    assert isinstance(default.spec, MovesSpec) and default.spec.kind == "moves"
    assert [k.kind for k in default.spec.controls] == ["grid"] * 4
    assert set(default.spec.patterns) == {0, 1, 2, 4, 8}
    assert type(dense.spec) is ModelSpec and dense.spec.kind == "dense"
    assert default.info["config"]["kinds"] == "auto" and dense.info["config"]["kinds"] == "dense"


def test_kinds_override_and_bad_requests_are_one_line(knobs: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "m.ftm"
    result = foretell(
        "train", str(knobs), "--size", "xxs", "--epochs", "1", "--kinds", "x2=continuous",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    spec = load_model(out).spec
    assert isinstance(spec, MovesSpec) and spec.controls[1].kind == "continuous"
    bad = foretell("train", str(knobs), "--kinds", "x9=set", "--out", str(out))
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0
    assert "--kinds: 'x9=set': the data has controls x1..x4" in bad.stderr
    both = foretell("train", str(knobs), "--kinds", "x1=set", "--dense", "--out", str(out))
    assert both.returncode == 2 and "--dense and --kinds do not go together" in both.stderr


def test_trace_scores_both_models_on_the_cells_basis(trained: dict[str, Path], knobs: Path) -> None:
    runs = {
        "default": foretell("trace", str(trained["default"]), str(knobs), "--json"),
        "dense": foretell("trace", str(trained["dense"]), str(knobs), "--json"),
        "dense cells": foretell(
            "trace",
            str(trained["dense"]),
            str(knobs),
            "--json",
            "--basis",
            "cells",
            "--cells-from",
            str(trained["default"]),
        ),
    }
    summaries = {}
    for name, result in runs.items():
        assert result.returncode == 0, result.stderr
        summaries[name] = json.loads(result.stdout)
    assert summaries["default"]["nll_basis"] == "cells"
    assert summaries["dense"]["nll_basis"] == "density"
    assert summaries["dense cells"]["nll_basis"] == "cells"
    # cells hold a probability at most one, so a grid's NLL on cells is never below zero per
    # control, where densities on a 1/127 grid reach far below
    assert summaries["dense cells"]["mean_nll"] > summaries["dense"]["mean_nll"]
    refused = foretell("trace", str(trained["default"]), str(knobs), "--basis", "density")
    assert refused.returncode == 1 and "use --basis cells" in refused.stderr


def test_generate_plays_one_knob_at_a_time_on_the_grid(
    trained: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "g.csv"
    result = foretell("generate", str(trained["default"]), "--steps", "400", "--seed", "1",
                      "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    with out.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["dt", "x1", "x2", "x3", "x4"] and len(rows) == 401  # one full row each
    values = np.array(rows[1:], dtype=np.float64)
    assert np.abs(values[:, 1:] * 127 - np.round(values[:, 1:] * 127)).max() < 1e-3
    spec = load_model(trained["default"]).spec
    assert isinstance(spec, MovesSpec)
    controls = spec.controls
    counts = moved(cell_indices(values, controls))[1:].sum(axis=1)
    assert counts.max() <= 1  # never two knobs at once: no such moving set was seen


def test_info_shows_the_kinds_and_resume_fine_tunes_a_moves_model(
    trained: dict[str, Path], knobs: Path, tmp_path: Path
) -> None:
    shown = foretell("info", str(trained["default"]))
    assert shown.returncode == 0, shown.stderr
    assert "MDRNN, moves: dimension 5" in shown.stdout
    assert "moves: x1 grid (128 values), x2 grid (128 values)" in shown.stdout
    assert "MDRNN: dimension 5" in foretell("info", str(trained["dense"])).stdout
    out = tmp_path / "resumed.ftm"
    resumed = foretell("train", str(knobs), "--resume", str(trained["default"]), "--out",
                       str(out), "--json")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["recent_nll_after"] < summary["recent_nll_before"]
    assert isinstance(load_model(out).spec, MovesSpec)
