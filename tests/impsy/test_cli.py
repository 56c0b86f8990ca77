"""``foretell import-impsy``, then ``foretell trace`` on its output: IMPSY's numbers and NLL."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from foretell.cli import cli
from foretell.errors import ImportModelError
from foretell.model.fileformat import load_model
from tests.impsy.conftest import DIM2, DIM4, REFERENCES


def foretell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "foretell", *args], capture_output=True, text=True)


def test_import_writes_next_to_the_input_and_says_where_the_architecture_came_from(
    shipped: Callable[[str], Path],
) -> None:
    source = shipped(f"{DIM4}.h5")
    result = CliRunner().invoke(cli, ["import-impsy", str(source)])
    assert result.exit_code == 0, result.output
    assert "Keras 2 weights-only" in result.output
    assert f"architecture from the file-name pattern ({DIM4})" in result.output
    assert "dimension 4 (dt + 3 controls), 2 x 64 LSTM, 5 mixtures" in result.output
    assert "scaled by 10" in result.output
    model = load_model(source.with_suffix(".ftm"))
    assert model.info["source"] == "IMPSY" and model.info["imported_from"] == source.name


def test_import_reports_a_config_source_and_notes(
    shipped: Callable[[str], Path], tmp_path: Path
) -> None:
    out = tmp_path / "sub" / "lever.ftm"
    result = CliRunner().invoke(
        cli, ["import-impsy", str(shipped(f"{DIM2}.h5")), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Keras 2 full model" in result.output
    assert "architecture from the file's own Keras config" in result.output
    assert "note: its config says the LSTMs were trained with hard_sigmoid" in result.output
    assert out.is_file()


def test_import_refuses_to_overwrite_without_force(shipped: Callable[[str], Path]) -> None:
    source = shipped(f"{DIM4}.keras")
    runner = CliRunner()
    assert runner.invoke(cli, ["import-impsy", str(source)]).exit_code == 0
    again = runner.invoke(cli, ["import-impsy", str(source)])
    assert isinstance(again.exception, ImportModelError)
    assert "already exists; pass --force" in str(again.exception)
    assert runner.invoke(cli, ["import-impsy", str(source), "--force"]).exit_code == 0


def test_trace_of_imported_models_reproduces_impsy(shipped: Callable[[str], Path]) -> None:
    """The issue's parity check, end to end through both commands."""
    for name, file_name in ((DIM2, f"{DIM2}.keras"), (DIM4, f"{DIM4}.h5")):
        source, data = shipped(file_name), shipped(REFERENCES[name])
        assert foretell("import-impsy", str(source)).returncode == 0
        out = source.with_name("trace.npz")
        result = foretell(
            "trace", str(source.with_suffix(".ftm")), str(data), "--json", "--out", str(out)
        )
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert np.isfinite(summary["mean_nll"]) and summary["events"] == 598
        traced = np.load(out, allow_pickle=True)["raw"]
        expected = np.load(data, allow_pickle=True)["raw"]
        for raw, want in zip(traced, expected, strict=True):
            assert np.abs(raw - want).max() <= 1e-3


def test_bad_file_is_one_line_and_exit_status_1(shipped: Callable[[str], Path]) -> None:
    shipped(f"{DIM4}.keras")
    result = foretell("import-impsy", str(shipped(f"{DIM4}.tflite")))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("foretell: error: ")
    assert f"import {DIM4}.keras beside it instead" in lines[0]
    assert not shipped(f"{DIM4}.tflite").with_suffix(".ftm").exists()


def test_import_needs_no_h5py_until_it_runs() -> None:
    code = (
        "import sys, foretell.cli, foretell.impsy.keras_import; "
        "assert 'h5py' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
