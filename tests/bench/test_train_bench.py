"""`foretell bench train`'s measurement: trained without the test set, scored on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.data.dataset import Dataset, save_dataset
from foretell.train.batches import split_test
from tests.fixtures import bundled_performances
from tests.studio.helpers import child_pids, command_line

pytest.importorskip("torch")
from foretell.bench.train import BUSY_LOOP, bench_dataset, describe, time_beside_busy
from foretell.model.fileformat import load_model
from foretell.model.runtime import DenseModel
from foretell.model.trace import trace_performance


def test_the_saved_model_never_saw_the_test_performances(tmp_path: Path) -> None:
    chunks = [p[i : i + 120] for p in bundled_performances(720) for i in range(0, 720, 120)]
    data = tmp_path / "perfs.npz"
    save_dataset(data, chunks[:20])  # 20 performances: whole ones are held out
    kept = tmp_path / "model.ftm"
    extra = ("--epochs", "2", "--batch-size", "8", "--threads", "1")
    run = bench_dataset(data, "xxs", 0, None, extra, keep=kept)
    split = split_test(Dataset(tuple(np.asarray(c, np.float32) for c in chunks[:20]), 4))
    assert run["test_by"] == "performance" and run["test_performances"] == len(split.test)
    model = load_model(kept)
    assert model.info["data_events"] == split.trainable.events  # the test set was not given
    runtime = DenseModel(model).voice()
    traced = np.concatenate([trace_performance(runtime, p)[1] for p in split.test])
    assert run["test_nll"] == pytest.approx(traced.mean(), abs=2e-3)
    assert run["test_nll"] != pytest.approx(run["best_val_nll"], abs=1e-3)
    lines = describe(run)
    assert "held-out performances" in lines[0] and "stopped on" in lines[1]


def test_beside_busy_times_training_quiet_and_beside_a_burner_that_it_stops(
    tmp_path: Path,
) -> None:
    data = tmp_path / "small.npz"
    save_dataset(data, bundled_performances(150))
    extra = ("--epochs", "1", "--threads", "1")
    result = time_beside_busy(data, "xxs", 0, 1, extra)
    assert len(result["quiet_s"]) == len(result["busy_s"]) == 1
    assert result["median_quiet_s"] == pytest.approx(np.median(result["quiet_s"]), abs=0.01)
    ratio = result["median_busy_s"] / result["median_quiet_s"]
    assert result["ratio"] == pytest.approx(ratio, abs=0.01)
    burners = [pid for pid in child_pids() if BUSY_LOOP in command_line(pid)]
    assert burners == []  # every burner this process started was stopped
