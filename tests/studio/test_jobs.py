"""Training jobs: real ``foretell train`` children on a small real dataset, real files."""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from foretell.errors import ConfigError
from foretell.model.protocol import load_voice
from foretell.studio.jobs import Busy, Job, Jobs, ModelExists
from tests.fixtures import small_dataset
from tests.studio.helpers import child_pids, command_line, needs_proc, until

pytest.importorskip("torch")

JOB_FIELDS = {
    "id", "state", "dataset", "size", "name", "epoch", "epochs", "history", "best",
    "elapsed_s", "eta_s", "model", "error", "ending", "stopped",
}  # fmt: skip


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 180))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return small_dataset(tmp_path / "d1.npz")


@pytest.fixture
def models(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    return tmp_path / "models"


def test_a_job_trains_to_done_with_its_history_and_a_loadable_model(
    data: Path, models: Path
) -> None:
    async def train() -> tuple[Job, dict[str, Any]]:
        jobs = Jobs()
        job = jobs.start(data, "xs", models / "m1.ftm", "m1", "d1", epochs=3)
        first = job.to_json()
        assert jobs.running is job and jobs.get(job.id) is job and jobs.all() == [job]
        await until(lambda: job.state != "running")
        assert jobs.running is None
        return job, first

    job, first = run(train())
    assert first["state"] == "running" and first["history"] == [] and first["best"] is None
    view = job.to_json()
    assert set(view) == JOB_FIELDS and view["state"] == "done", view["error"]
    assert (view["dataset"], view["size"], view["name"], view["model"]) == ("d1", "xs", "m1", "m1")
    assert (view["epoch"], view["epochs"], view["eta_s"], view["error"]) == (3, 3, 0.0, None)
    assert [entry["epoch"] for entry in view["history"]] == [1, 2, 3]
    vals = [entry["val"] for entry in view["history"]]
    assert all(math.isfinite(entry["train"]) for entry in view["history"])
    assert view["best"]["val"] == min(vals) and vals[view["best"]["epoch"] - 1] == min(vals)
    assert view["stopped"] == "epochs"
    ending = view["ending"]
    assert ending.startswith(("stopped on the epoch cap (3)", "stopped at its last epoch (3)"))
    assert "--" not in ending  # no command-line options on the page
    assert 0 < view["elapsed_s"] == job.to_json()["elapsed_s"]  # stopped counting at the end
    json.dumps(view, allow_nan=False)
    assert load_voice(models / "m1.ftm").model.file.spec.units == 32
    made = {path.name for path in models.iterdir()}
    assert {"m1.ftm", "m1.curves.csv"} <= made <= {"m1.ftm", "m1.curves.csv", "m1.curves.png"}


@needs_proc
def test_a_running_job_is_idle_priority_and_busy_to_a_second_start(
    data: Path, models: Path
) -> None:
    async def check() -> tuple[int, int]:
        jobs = Jobs()
        job = jobs.start(data, "xs", models / "m1.ftm", "m1", "d1", epochs=500)
        with pytest.raises(Busy, match=f"job {job.id} is training m1"):
            jobs.start(data, "xs", models / "m2.ftm", "m2", "d1")
        trainers: list[int] = []

        def exec_done() -> bool:  # the child has lowered its priority and become foretell train
            trainers[:] = [
                p for p in child_pids() if command_line(p)[1:4] == ["-m", "foretell", "train"]
            ]
            return bool(trainers)

        await until(exec_done)
        policy = os.sched_getscheduler(trainers[0])
        niceness = os.getpriority(os.PRIO_PROCESS, trainers[0])
        await jobs.aclose()
        assert job.state == "cancelled"
        return policy, niceness

    policy, niceness = run(check())
    assert policy == os.SCHED_IDLE or niceness == 19


@needs_proc
def test_cancel_stops_the_child_and_leaves_no_model_file(data: Path, models: Path) -> None:
    async def cancel() -> tuple[Job, Job | None, list[int]]:
        jobs = Jobs()
        job = jobs.start(data, "xs", models / "m1.ftm", "m1", "d1", epochs=500)
        await until(lambda: job.epoch >= 1)
        assert any(models.iterdir())  # the hidden folder the child writes into
        cancelled = await jobs.cancel(job.id)
        assert jobs.running is None and await jobs.cancel(job.id) is job  # again: unchanged
        assert await jobs.cancel("nosuchjob") is None
        after = jobs.start(data, "xs", models / "m1.ftm", "m1", "d1")  # no longer busy
        await jobs.aclose()  # cancelled while its child starts
        assert after.state == "cancelled"
        return job, cancelled, set(child_pids()) - before

    before = set(child_pids())  # other tests' children, if any, are not this one's
    job, cancelled, children = run(cancel())
    assert cancelled is job and job.state == "cancelled" and job.model is None
    assert job.epoch >= 1 and job.history and job.eta_s is None
    assert children == set() and list(models.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "dataset d1 does not exist"), (b"not a zip", "d1 is not a readable .npz dataset")],
)
def test_a_missing_or_corrupt_dataset_fails_with_one_line(
    tmp_path: Path, models: Path, content: bytes | None, expected: str
) -> None:
    data = tmp_path / "d1.npz"
    if content is not None:
        data.write_bytes(content)

    async def fail() -> Job:
        jobs = Jobs()
        job = jobs.start(data, "xs", models / "m1.ftm", "m1", "d1", epochs=3)
        await until(lambda: job.state != "running")
        return job

    job = run(fail())
    assert job.state == "failed" and job.error is not None and job.error.startswith(expected)
    assert "\n" not in job.error and str(tmp_path) not in job.error
    assert job.model is None and job.history == [] and list(models.iterdir()) == []


def test_start_refuses_an_existing_model_and_an_unknown_size(data: Path, models: Path) -> None:
    (models / "m1.ftm").write_bytes(b"a model")
    jobs = Jobs()
    with pytest.raises(ModelExists, match="model m1 exists already"):
        jobs.start(data, "xs", models / "m1.ftm", "m1", "d1")
    with pytest.raises(ConfigError, match="unknown size 'huge'"):
        jobs.start(data, "huge", models / "m2.ftm", "m2", "d1")
    assert jobs.all() == [] and jobs.running is None


def test_progress_lines_are_read_and_anything_else_ignored() -> None:
    job = Job("abc", "d1", "xs", "m1")
    line = {"epoch": 1, "epochs": 9, "train": -1.0, "val": None, "best_epoch": 0}
    for text in ("", "not json", "[1, 2]", '{"epoch": true}', json.dumps(line)):
        job.read_line(text)
    assert (job.epoch, job.epochs, job.best) == (1, 9, None)
    assert job.history == [{"epoch": 1, "train": -1.0, "val": None}]
    better = {**line, "epoch": 2, "val": -2.0, "best_epoch": 2, "best_val": -2.0, "eta_s": 7.0}
    job.read_line(json.dumps(better))
    job.read_line(json.dumps({**better, "val": -9.0}))  # the same epoch again: ignored
    job.read_line('{"epoch": 3, "train": NaN, "val": Infinity}')
    job.read_line(json.dumps({"best_epoch": 2, "ending": "stopped on patience"}))
    assert job.best == {"epoch": 2, "val": -2.0}  # kept through a line without one
    assert [entry["val"] for entry in job.history] == [None, -2.0, None]
    assert job.history[2]["train"] is None and job.ending == "stopped on patience"
    json.dumps(job.to_json(), allow_nan=False)


def test_the_page_is_told_how_to_go_on_from_the_page() -> None:
    capped = {"stopped": "epochs", "best_epoch": 25, "epochs_run": 25, "ending": "... --resume"}
    job = Job("j1", "d1", "xs", "m1")
    job.read_line(json.dumps(capped))
    assert job.stopped == "epochs" and "--" not in str(job.ending)
    assert job.ending == (
        "stopped at its last epoch (25) while still improving (best at epoch 25): "
        'train again with more epochs ("epochs": 50)'
    )
    settled = Job("j2", "d1", "xs", "m1")
    settled.read_line(json.dumps({**capped, "best_epoch": 12, "ending": "the cap; best at 12"}))
    assert settled.ending == "the cap; best at 12" and settled.to_json()["stopped"] == "epochs"
