"""The learner process: one fine-tune in a child process, so the engine's timing never pays for it.

``LearnerProcess(job).start()`` spawns a fresh interpreter (multiprocessing's ``spawn`` context:
nothing of the engine's state or threads is inherited) that lowers its own priority (``nice``),
pins torch and BLAS to ``job.threads`` thread(s), reads the session's log (user rows) and the
original dataset, fine-tunes from the job's model (``foretell.learn.finetune``) and, only if the
result is accepted, adds it to the model store. ``wait()`` blocks until it reports a ``JobOutcome``
(or dies: a killed learner is an outcome with an error, never an exception). Torch is imported
only in the child. Call ``wait`` from a thread, never from the engine's loop.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from foretell.config.learn import FinetuneConfig
from foretell.learn.versions import ModelStore


@dataclass(frozen=True)
class Job:
    """What one fine-tune needs (picklable: it crosses into the child process)."""

    store: Path
    parent: int  # the version to start from
    logs: tuple[Path, ...]
    original: Path | None = None
    config: FinetuneConfig = field(default_factory=FinetuneConfig)
    nice: int = 19  # the lowest priority: the engine (and everything else) goes first
    threads: int = 1


@dataclass(frozen=True)
class JobOutcome:
    """What the learner reports: the new version (if accepted), its metrics, or an error."""

    version: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def run_job(job: Job) -> JobOutcome:
    """Fine-tune and (if better) store a new version; in whatever process calls it."""
    from foretell.data.dataset import load_dataset
    from foretell.data.logs_to_dataset import logs_to_performances
    from foretell.learn.finetune import finetune
    from foretell.model.fileformat import load_model

    store = ModelStore(job.store)
    base = load_model(store.path(job.parent))
    performances, _ = logs_to_performances(job.logs, "user")
    original = None if job.original is None else load_dataset(job.original, clip=True)
    result = finetune(base, performances, original, job.config)
    metrics = result.metrics()
    if not result.accepted:
        return JobOutcome(None, metrics)
    data = {
        "logs": [str(p) for p in job.logs],
        "new_data_fingerprint": result.model.info["new_data_fingerprint"],
        "original_fingerprint": result.model.info["original_fingerprint"],
        "original": None if job.original is None else str(job.original),
    }
    version = store.add(result.model, job.parent, metrics, data)
    return JobOutcome(version.number, metrics)


def _child_main(job: Job, conn: Connection) -> None:
    """Entry point of the learner process: lower priority, fewer threads, one job, one reply."""
    with contextlib.suppress(OSError):
        os.nice(job.nice)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(job.threads)
    try:
        outcome = run_job(job)
    except Exception as exc:
        outcome = JobOutcome(error=f"{type(exc).__name__}: {exc}")
    conn.send(outcome)
    conn.close()


class LearnerProcess:
    """One job in a spawned child process (see the module docstring)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child_main, args=(self.job, send), name="foretell-learner", daemon=True
        )
        self._process.start()
        send.close()
        self._conn = receive

    def wait(self) -> JobOutcome:
        """Block until the child reports or dies; always returns an outcome."""
        assert self._process is not None and self._conn is not None
        try:
            outcome: JobOutcome = self._conn.recv()
        except (EOFError, OSError):
            self._process.join()
            outcome = JobOutcome(error=f"learner process died (exit code {self._process.exitcode})")
        self._process.join()
        self._conn.close()
        return outcome

    def kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
