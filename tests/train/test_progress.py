"""Progress lines without a terminal: how often, what they say, and why training ended."""

from __future__ import annotations

import io
import json

import pytest

pytest.importorskip("torch")
from foretell.model.fileformat import ModelFile
from foretell.train.loop import EpochRecord, TrainResult
from foretell.train.progress import ProgressJson, ProgressLines, end_line


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(epoch: int, val: float) -> EpochRecord:
    return EpochRecord(epoch, val + 0.5, val, 1e-2, seconds=2.0 * epoch)


def test_one_line_every_few_seconds_with_an_upper_bound_eta() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = ProgressLines(epochs=40, stream=stream, every_s=5.0, clock=clock)
    for epoch in range(1, 8):  # an epoch every 2 s: lines at 0, 6 and 12 s
        clock.now = 2.0 * (epoch - 1)
        progress(record(epoch, -float(epoch) if epoch < 4 else -3.0), improved=epoch < 4)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        "epoch 1/40: train -0.500 val -1.000 (best -1.000 at 1), 2.0 s elapsed, ETA <= 78 s"
    )
    # epoch 7: 33 epochs left to the cap at 2 s each (patience may end it sooner, never later)
    assert lines[2].startswith("epoch 7/40:") and lines[2].endswith("ETA <= 66 s")


def result(stopped: str, best_epoch: int, epochs_run: int) -> TrainResult:
    history = [record(e, -1.0) for e in range(1, epochs_run + 1)]
    model = ModelFile.__new__(ModelFile)  # the end line reads only the run's counters
    return TrainResult(model, history, best_epoch, -1.0, 1.0, 1.0, stopped)  # type: ignore[arg-type]


def test_end_line_names_patience_the_cap_and_resume() -> None:
    assert end_line(result("patience", 12, 22), 10).startswith("stopped on patience")
    # the epochs it waited, which a small set's weight average may make more than --patience
    assert "for 20 epochs after epoch 12" in end_line(result("patience", 12, 32), 10)
    still = end_line(result("epochs", 40, 40), 10)
    assert "still improving" in still and "--resume" in still
    assert "would probably not help" in end_line(result("epochs", 20, 40), 10)
    assert "Ctrl-C" in end_line(result("interrupted", 3, 5), 10)


def test_json_progress_is_one_strict_json_object_every_epoch() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = ProgressJson(epochs=40, stream=stream, clock=clock)
    progress(EpochRecord(1, float("nan"), float("inf"), 1e-2, seconds=2.0), improved=False)
    for epoch in range(2, 5):  # every epoch, however close together
        progress(record(epoch, -float(epoch) if epoch < 4 else -2.0), improved=epoch < 4)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 4
    assert lines[0] == {
        "epoch": 1,
        "epochs": 40,
        "train": None,
        "val": None,
        "best_epoch": 0,
        "best_val": None,
        "elapsed_s": 2.0,
        "eta_s": 78.0,  # 39 epochs left to the cap at 2 s
    }
    # epoch 4, best -3 at 3: as ProgressLines's bound, 36 epochs left at 2 s each
    last = lines[3]
    assert (last["epoch"], last["best_epoch"], last["best_val"]) == (4, 3, -3.0)
    assert (last["train"], last["val"], last["eta_s"]) == (-1.5, -2.0, 72.0)
