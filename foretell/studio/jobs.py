"""Training jobs for the studio: at most one ``foretell train`` child at a time, followed.

``Jobs.start`` runs ``foretell train --progress-json --json`` as a low-priority child
(``foretell.studio.children``) that writes into a hidden folder beside the model
(``.NAME.job-ID/``), and a task reads its lines into the ``Job``: one JSON object per epoch, then
the summary (anything else is ignored). On success the loss curves, then the model, are moved
into place, so a model file that exists is complete; a failed or cancelled job leaves nothing
behind. Jobs live in memory (a restart forgets them).

Every method runs on the studio's asyncio loop and none blocks it. This module does not choose
paths or check names (the API does) and never imports torch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from foretell.errors import ConfigError, ForetellError
from foretell.model.fileformat import SIZE_PRESETS
from foretell.studio import children
from foretell.studio.errors import StudioError
from foretell.studio.models import keep

log = logging.getLogger(__name__)

State = Literal["running", "done", "failed", "cancelled"]
STDERR_LINES = 20  # the tail of a child's stderr kept for its error line


class JobError(ForetellError):
    """A training job cannot start."""


class Busy(JobError):
    """A training job is running already (one at a time)."""


class ModelExists(JobError):
    """The job's model file exists already."""


@dataclass
class Job:
    """One training run: the contract's job object (``to_json``), updated from the child's lines."""

    id: str
    dataset: str
    size: str
    name: str
    state: State = "running"
    epoch: int = 0
    epochs: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    eta_s: float | None = None
    model: str | None = None
    error: str | None = None
    ending: str | None = None
    stopped: str | None = None  # patience | epochs | interrupted (the trainer's summary)
    started: float = field(default_factory=time.monotonic, repr=False)
    ended: float | None = field(default=None, repr=False)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the job started, until it ended."""
        end = self.ended if self.ended is not None else time.monotonic()
        return round(end - self.started, 3)

    def to_json(self) -> dict[str, Any]:
        """The job object of docs/studio.md (strict JSON: no NaN or infinity)."""
        return {
            "id": self.id,
            "state": self.state,
            "dataset": self.dataset,
            "size": self.size,
            "name": self.name,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "history": [dict(entry) for entry in self.history],
            "best": None if self.best is None else dict(self.best),
            "elapsed_s": self.elapsed_s,
            "eta_s": self.eta_s,
            "model": self.model,
            "error": self.error,
            "ending": self.ending,
            "stopped": self.stopped,
        }

    def read_line(self, line: str) -> None:
        """Take one line of the child's stdout: an epoch's progress, the final summary, or
        anything else (ignored)."""
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        if isinstance(record.get("ending"), str):
            self.stopped = record.get("stopped") if record.get("stopped") in STOPS else None
            self.ending = page_ending(record) or record["ending"]
        elif _count(record.get("epoch")):
            self._progress(record)

    def _progress(self, record: dict[str, Any]) -> None:
        epoch = int(record["epoch"])
        if epoch <= self.epoch:
            return
        self.epoch = epoch
        self.epochs = _count(record.get("epochs")) or self.epochs
        train, val = _number(record.get("train")), _number(record.get("val"))
        self.history.append({"epoch": epoch, "train": train, "val": val})
        best_epoch, best_val = _count(record.get("best_epoch")), _number(record.get("best_val"))
        if best_epoch and best_val is not None:  # else none yet (or a line without one)
            self.best = {"epoch": best_epoch, "val": best_val}
        self.eta_s = _number(record.get("eta_s"))

    def finish(self, state: State, error: str | None = None) -> None:
        """End the job: ``done`` (its model is in place), ``failed`` (with ``error``) or
        ``cancelled``."""
        self.state, self.error, self.ended = state, error, time.monotonic()
        self.model = self.name if state == "done" else None
        self.eta_s = 0.0 if state == "done" else None


def _count(value: object) -> int | None:
    """A positive int from a progress line, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _number(value: object) -> float | None:
    """A finite number from a progress line, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass
class _Run:
    """The running job's child and where it writes."""

    job: Job
    arguments: list[str]
    work: Path  # the hidden folder the child writes into
    model_path: Path
    process: asyncio.subprocess.Process | None = None
    task: asyncio.Task[None] | None = None
    cancelled: bool = False
    stderr: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_LINES))
    names: dict[str, str] = field(default_factory=dict)  # paths in errors -> the names shown


class Jobs:
    """The studio's training jobs: at most one running; all of them kept, newest first."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._run: _Run | None = None

    @property
    def running(self) -> Job | None:
        return None if self._run is None else self._run.job

    def start(
        self,
        dataset_path: Path,
        size: str,
        model_path: Path,
        name: str,
        dataset_name: str,
        *,
        epochs: int | None = None,
    ) -> Job:
        """Start training ``model_path`` (the model ``name``) on ``dataset_path`` (the dataset
        ``dataset_name``) with the ``size`` preset (``epochs``: the trainer's cap, its default
        if None). Returns at once, the job running; call on a running loop.

        Raises ``Busy`` while a job runs, ``ModelExists`` if ``model_path`` does, ``ConfigError``
        for an unknown size."""
        if self._run is not None:
            running = self._run.job
            raise Busy(f"job {running.id} is training {running.name}: one job at a time")
        if size not in SIZE_PRESETS:
            raise ConfigError(f"unknown size {size!r} (choose from {', '.join(SIZE_PRESETS)})")
        model_path = Path(model_path).absolute()
        if model_path.exists():
            raise ModelExists(f"model {name} exists already")
        job = Job(self._new_id(), dataset_name, size, name, epochs=epochs)
        work = model_path.with_name(f".{model_path.stem}.job-{job.id}")
        dataset_path, out = Path(dataset_path).absolute(), work / model_path.name
        run = _Run(job, train_arguments(dataset_path, size, out, epochs), work, model_path)
        run.names = {str(dataset_path): dataset_name, str(out): name}
        self._jobs[job.id], self._run = job, run
        run.task = asyncio.create_task(self._follow(run), name=f"training job {job.id}")
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Every job, newest first."""
        return list(reversed(self._jobs.values()))

    async def cancel(self, job_id: str) -> Job | None:
        """Stop job ``job_id`` if it is running (SIGTERM; its files removed) and wait until it
        has; the job as it is then (a finished one unchanged), or None if there is no such job."""
        run = self._run
        if run is None or run.job.id != job_id:
            return self.get(job_id)
        run.cancelled = True
        if run.process is not None:
            await children.stop(run.process)
        assert run.task is not None
        await asyncio.shield(run.task)
        return run.job

    async def aclose(self) -> None:
        """Cancel the running job, if any (at shutdown)."""
        if self._run is not None:
            await self.cancel(self._run.job.id)

    def _new_id(self) -> str:
        while (job_id := secrets.token_hex(4)) in self._jobs:
            pass
        return job_id

    async def _follow(self, run: _Run) -> None:
        """Start the child, read it until it ends, settle the job; never leave the work folder."""
        try:
            run.work.mkdir(parents=True)
            process = run.process = await children.start(*run.arguments)
        except OSError as exc:
            self._settle(run, f"cannot start training ({exc.strerror or exc})")
            return
        try:
            returncode = await _watch(run, process)
        except BaseException:  # this task cancelled (the loop closing without aclose)
            await children.stop(process)
            self._settle(run, "the studio stopped following this job")
            raise
        self._settle(run, None if returncode == 0 else "".join(run.stderr), returncode)

    def _settle(self, run: _Run, failure: str | None, returncode: int = 1) -> None:
        """The job's end: cancelled, done (the files moved into place) or failed."""
        try:
            if run.cancelled:
                run.job.finish("cancelled")
            elif failure is not None:
                run.job.finish("failed", children.error_line(failure, returncode, run.names))
            else:
                run.job.finish(*_install(run.work, run.model_path))
        finally:
            shutil.rmtree(run.work, ignore_errors=True)
            self._run = None
        log.info("job %s (%s): %s", run.job.id, run.job.name, run.job.error or run.job.state)


STOPS = ("patience", "epochs", "interrupted")


def page_ending(summary: dict[str, Any]) -> str | None:
    """Why training stopped, said for the page (the trainer's own line gives CLI options):
    only the epoch cap while still improving differs, with what to do from the page."""
    best, run = _count(summary.get("best_epoch")), _count(summary.get("epochs_run"))
    if summary.get("stopped") != "epochs" or not best or not run or best < run - 2:
        return None
    return (
        f"stopped at its last epoch ({run}) while still improving (best at epoch {best}): "
        f"train again with more epochs ({2 * run} in the Train form's epochs)"
    )


def train_arguments(dataset: Path, size: str, out: Path, epochs: int | None) -> list[str]:
    """``foretell train``'s arguments for a job: its progress as JSON lines, then the summary."""
    arguments = ["train", str(dataset), "--size", size, "--out", str(out)]
    threads = children.child_threads(SIZE_PRESETS[size])
    arguments += ["--threads", str(threads), "--progress-json", "--json"]
    return arguments + ([] if epochs is None else ["--epochs", str(epochs)])


def _install(work: Path, model_path: Path) -> tuple[State, str | None]:
    """Put what the child wrote into ``model_path``'s folder: the model first, linked so that it
    never replaces a model of that name made meanwhile (an upload), then its curves."""
    model = work / model_path.name
    if not model.is_file():
        return "failed", "training ended without writing a model"
    try:
        keep(model, model_path)
    except StudioError as exc:
        return "failed", str(exc)
    try:
        for path in work.iterdir():
            path.replace(model_path.parent / path.name)
    except OSError as exc:
        log.warning("%s: the loss curves were not kept (%s)", model_path.stem, exc.strerror)
    return "done", None


async def _watch(run: _Run, process: asyncio.subprocess.Process) -> int:
    """Read the child's progress into the job and keep its stderr's tail; its exit status."""
    if run.cancelled:  # while it was starting
        await children.stop(process)
    assert process.stdout is not None and process.stderr is not None
    await asyncio.gather(
        _each_line(process.stdout, run.job.read_line),
        _each_line(process.stderr, run.stderr.append),
    )
    return await process.wait()


async def _each_line(stream: asyncio.StreamReader, take: Callable[[str], None]) -> None:
    """Call ``take`` with each line of ``stream`` until it ends (an over-long line is dropped)."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            continue
        if not raw:
            return
        take(raw.decode(errors="replace"))
