"""``foretell train --resume``: fine-tune a model from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.data.dataset import bundled_dataset_path, save_dataset
from foretell.model.fileformat import load_model
from foretell.model.random import random_model_file
from tests.fixtures import bundled_performances

pytest.importorskip("torch")


def test_resume_writes_a_better_model_with_the_same_transform(tmp_path: Path) -> None:
    start = random_model_file(tmp_path / "start.ftm", units=16)
    data = tmp_path / "new.npz"
    save_dataset(data, bundled_performances(300)[:2])
    args = ["train", str(data), "--resume", str(start), "--replay", str(bundled_dataset_path())]
    result = CliRunner().invoke(cli, [*args, "--epochs", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["accepted"] and summary["recent_nll_after"] < summary["recent_nll_before"]
    resumed = load_model(summary["model"])
    assert resumed.spec == load_model(start).spec
    assert Path(summary["model"]).name == "start-resumed.ftm"


def test_resume_refuses_a_new_architecture(tmp_path: Path) -> None:
    start = random_model_file(tmp_path / "start.ftm", units=16)
    data = tmp_path / "new.npz"
    save_dataset(data, bundled_performances(300)[:1])
    result = CliRunner().invoke(cli, ["train", str(data), "--resume", str(start), "--units", "8"])
    assert result.exit_code != 0
    assert "cannot change with --resume" in str(result.exception or result.output)


@pytest.mark.parametrize(
    "option", [("--sigma-min", "0.01"), ("--grid-centres", "relative"), ("--step-inputs", "on")]
)
def test_resume_refuses_a_new_architecture_option(tmp_path: Path, option: tuple[str, str]) -> None:
    start = random_model_file(tmp_path / "start.ftm", units=16)
    data = tmp_path / "new.npz"
    save_dataset(data, bundled_performances(300)[:1])
    args = ["train", str(data), "--resume", str(start), *option]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert f"{option[0]} cannot change with --resume" in str(result.exception or result.output)
