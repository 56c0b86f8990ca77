"""`foretell train` and `foretell demo` through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from foretell.cli import cli, main
from foretell.data.dataset import bundled_dataset_path, save_dataset
from foretell.model.fileformat import load_model
from tests.fixtures import bundled_performances, small_dataset

pytest.importorskip("torch")


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    path = tmp_path / "small.npz"
    save_dataset(path, bundled_performances(limit=300))
    return path


def test_train_writes_model_curves_and_one_json_object(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "m.ftm"
    args = [
        "train",
        str(small_data),
        "--size",
        "xxs",
        "--epochs",
        "3",
        "--seed",
        "3",
        "--batch-size",
        "8",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip())
    for key in ("best_val_nll", "best_epoch", "epochs_run", "train_seconds", "seconds_per_epoch"):
        assert key in summary
    assert summary["epochs_run"] == 3 and summary["model"] == str(out.resolve())
    model = load_model(out)
    assert (model.spec.units, model.spec.layers) == (16, 2)
    assert model.info["seed"] == 3 and model.info["size"] == "xxs"
    assert model.info["best_val_nll"] == pytest.approx(summary["best_val_nll"])
    csv_lines = (tmp_path / "models" / "m.curves.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,train_nll,val_nll") and len(csv_lines) == 4
    assert (tmp_path / "models" / "m.curves.png").stat().st_size > 1000


def test_sigma_min_and_learning_rate_options_reach_the_model(
    small_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.ftm"
    common = ["train", str(small_data), "--size", "xxs", "--epochs", "1", "--out", str(out)]
    result = CliRunner().invoke(cli, [*common, "--sigma-min", "0.004", "--lr", "0.003"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.spec.sigma_min == 0.004 and model.info["learning_rate"] == 0.003
    result = CliRunner().invoke(cli, [*common, "--dense"])  # defaults: from the data's 1/128
    assert result.exit_code == 0, result.output  # steps, and batches of 8 on 1.2k events: 2e-2
    model = load_model(out)
    assert 0.001 < model.spec.sigma_min < 0.01
    assert model.info["learning_rate"] == pytest.approx(0.02)
    assert model.info["config"]["batch_size"] == 8
    result = CliRunner().invoke(cli, [*common, "--batch-size", "32", "--precision", "float32"])
    assert result.exit_code == 0, result.output  # 2e-2 * sqrt(32 / 8)
    model = load_model(out)
    assert model.info["learning_rate"] == pytest.approx(0.04)
    assert model.info["lstm_dtype"] == "float32" and model.info["config"]["batch_size"] == 32
    result = CliRunner().invoke(cli, [*common, "--sigma-min", "0"])
    assert result.exit_code != 0 and "--sigma-min" in result.output


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["foretell", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0)


def test_bad_dataset_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert _main(monkeypatch, "train", str(bad), "--out", str(tmp_path / "m.ftm")) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("foretell: error:") and "bad.npz" in err and len(err.splitlines()) == 1


def test_bad_option_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    small_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("train", str(small_data), "--val-split", "0.9", "--out", str(tmp_path / "m.ftm"))
    assert _main(monkeypatch, *args) == 1
    err = capsys.readouterr().err.strip()
    assert err == "foretell: error: --val-split must be between 0 and 0.5 (got 0.9)"


def test_demo_reuses_a_model_trained_on_the_bundled_data(tmp_path: Path) -> None:
    model = tmp_path / "demo-model.ftm"
    trained = CliRunner().invoke(
        cli,
        [
            "train",
            str(bundled_dataset_path()),
            "--size",
            "xxs",
            "--epochs",
            "1",
            "--out",
            str(model),
            "--json",
        ],
    )
    assert trained.exit_code == 0, trained.output
    result = CliRunner().invoke(cli, ["demo", "--out-dir", str(tmp_path), "--steps", "50"])
    assert result.exit_code == 0, result.output
    assert "reused" in result.output and "played 50 events" in result.output
    rows = (tmp_path / "demo-performance.csv").read_text().splitlines()
    assert rows[0] == "dt,x1,x2,x3" and len(rows) == 51
    assert (tmp_path / "demo-performance.png").stat().st_size > 1000


def test_piped_training_prints_progress_lines_and_why_it_stopped(
    small_data: Path, tmp_path: Path
) -> None:
    """stderr to a file (no terminal): plain progress lines, and the end says: the epoch cap."""
    import subprocess

    out, log = tmp_path / "m.ftm", tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "foretell", "train", str(small_data), "--size", "xxs"]
    command += ["--epochs", "3", "--batch-size", "8", "--threads", "1", "--out", str(out)]
    with log.open("w") as stderr:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert done.returncode == 0
    lines = log.read_text().splitlines()
    assert lines and lines[0].startswith("epoch 1/3: train ")
    assert " val " in lines[0] and "s elapsed, ETA <= " in lines[0]
    assert "\r" not in log.read_text()  # no terminal bar
    assert "stopped on the epoch cap (3)" in done.stdout
    assert "--resume" in done.stdout or "would probably not help" in done.stdout


def test_progress_json_is_one_line_an_epoch_then_the_summary(tmp_path: Path) -> None:
    data = small_dataset(tmp_path / "small.npz")
    out = tmp_path / "m.ftm"
    command = [sys.executable, "-m", "foretell", "train", str(data), "--size", "xs"]
    options = ["--epochs", "3", "--threads", "1", "--out", str(out), "--progress-json", "--json"]
    result = subprocess.run([*command, *options], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *epochs, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    keys = {"epoch", "epochs", "train", "val", "best_epoch", "best_val", "elapsed_s", "eta_s"}
    assert all(set(e) == keys and e["epochs"] == 3 for e in epochs)
    assert epochs[-1]["eta_s"] == 0 and epochs[0]["elapsed_s"] <= epochs[-1]["elapsed_s"]
    assert summary["best_epoch"] == epochs[-1]["best_epoch"]
    assert summary["best_val_nll"] == pytest.approx(epochs[-1]["best_val"])
    assert summary["ending"].startswith("stopped on the epoch cap") and out.is_file()
    assert "epoch" not in result.stderr  # no bar, no plain progress lines


# ``main`` in a fresh interpreter (so the test process's collector is left alone), then the
# collector's frozen count as the process ends: the shutdown sweep is skipped only once torch
# is loaded.
MAIN_THEN_FROZEN_COUNT = """
import gc, sys
if sys.argv[1] == "torch":
    import torch  # noqa: F401
sys.argv = ["foretell", "--version"]
from foretell.cli import main
try:
    main()
except SystemExit:
    pass
print("frozen", gc.get_freeze_count())
"""


@pytest.mark.parametrize(("loaded", "frozen"), [("torch", True), ("nothing", False)])
def test_main_skips_the_shutdown_sweep_only_once_torch_is_loaded(loaded: str, frozen: bool) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MAIN_THEN_FROZEN_COUNT, loaded],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("foretell, version")
    count = int(done.stdout.rsplit("frozen ", 1)[1])
    assert (count > 0) is frozen
