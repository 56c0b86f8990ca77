"""The engine side of learning while playing: start fine-tunes, swap better models in, roll back.

A ``Learner`` is an engine service (``foretell.perform.engine.Service``): it lives on the engine's
loop beside one instrument, given to the ``Engine`` at construction, which starts and stops it,
hands it every event and the ``learn`` and ``rollback`` commands to its instrument. It counts the
instrument's user events and, when its schedule says so or the performer asks
(``/foretell/learn``), hands a job to a ``LearnerProcess`` (``foretell.learn.worker``), which
trains on the log's performer rows only (a guest's inputs, ``guest`` rows, never). A helper
thread starts that process, waits for it, builds a voice on the new model and posts it back to
the loop; the loop only swaps (``Instrument.swap_runtime``, which carries the LSTM state over),
timed, between two events. ``/foretell/rollback N`` swaps version N of the store back in the same
way. Without torch it says once that learning needs the ``train`` extra and the performance plays
on. Construction opens nothing; ``start()`` adopts the playing model as a version and arms timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from foretell import commands as control
from foretell.clock import Clock, Timer
from foretell.config.learn import LearnConfig
from foretell.events import Event
from foretell.install import install_hint
from foretell.learn.versions import ModelStore, version_file
from foretell.learn.worker import Job, JobOutcome, LearnerProcess
from foretell.model.protocol import Voice, load
from foretell.perform.instrument import Instrument

log = logging.getLogger(__name__)
NO_TORCH = f"learning needs the train extra ({install_hint('train')}); playing on without it"
Post = Callable[[Callable[[], None]], None]
FINE_TUNED_KINDS = ("dense", "moves")  # the kinds of model foretell.learn.finetune trains


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


class Learner:
    """Fine-tunes one instrument's model in the background (see the module docstring)."""

    def __init__(
        self,
        config: LearnConfig,
        instrument: Instrument,
        clock: Clock,
        post: Post | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.instrument = instrument
        self.store = ModelStore(config.store)
        self.state = "off"
        self.current: int | None = None
        self.newest: int | None = None
        self.counts = {"fine_tunes": 0, "accepted": 0, "rejected": 0, "failed": 0}
        self.swap_ms: list[float] = []
        self.last: dict[str, Any] = {}
        self._post = post
        self._process: LearnerProcess | None = None
        self._timer: Timer | None = None
        self._events = 0
        self._performed = 0  # the performer's inputs since start (a guest's are not learned)
        self._since = 0.0

    # -- lifecycle (on the loop) ----------------------------------------------------------------

    def start(self) -> bool:
        """Adopt the playing model as a version and listen; False (one warning) without torch."""
        inst = self.instrument
        if not torch_available():
            log.warning(NO_TORCH)
            self.state = "unavailable"
            return False
        if inst.runtime is None:
            log.warning(
                "%s: learning needs a model to start from; playing on without it", inst.name
            )
            self.state = "unavailable"
            return False
        if inst.runtime.model.kind not in FINE_TUNED_KINDS:
            log.warning(
                "%s: learning while playing fine-tunes %s models, not %s; playing on without it",
                inst.name,
                " or ".join(FINE_TUNED_KINDS),
                inst.runtime.model.kind,
            )
            self.state = "unavailable"
            return False
        if self._post is None:
            loop = asyncio.get_running_loop()

            def post(fn: Callable[[], None]) -> None:
                with contextlib.suppress(RuntimeError):  # the loop has closed: the session ended
                    loop.call_soon_threadsafe(fn)

            self._post = post
        self.current = self.store.adopt(inst.runtime.model.file, inst.model_name).number
        self.newest = self.current
        self.state = "idle"
        self._since = self.clock.now()
        if self.config.schedule.kind == "seconds":
            self._arm()
        return True

    def stop(self) -> None:
        """Stop listening and kill a running fine-tune."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.kill()
        if self.state != "unavailable":
            self.state = "off"

    def kill(self) -> None:
        """Kill the learner process if one runs (its job reports as failed)."""
        if self._process is not None:
            self._process.kill()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # -- triggers -------------------------------------------------------------------------------

    def takes(self, command: control.Command) -> bool:
        """``learn`` and ``rollback`` are the learner's, once it runs."""
        running = self.state not in ("off", "unavailable")
        return running and isinstance(command, control.Learn | control.Rollback)

    def on_command(self, command: control.Command) -> None:
        """Carry out ``learn`` (fine-tune now) or ``rollback N``."""
        match command:
            case control.Learn():
                self.request("performer")
            case control.Rollback(version=number):
                self.rollback(number)

    def on_event(self, name: str, event: Event) -> None:
        """Count the performer's events (a schedule in events fine-tunes every N; a guest's
        inputs do not count)."""
        running = self.state not in ("off", "unavailable")
        if not running or name != self.instrument.name or event.source != "user" or event.guest:
            return
        self._events += 1
        self._performed += 1
        if self.config.schedule.kind == "events" and self.config.schedule.due(self._events, 0.0):
            self.request("schedule")

    def _arm(self) -> None:
        when = self.clock.now() + self.config.schedule.every
        self._timer = self.clock.call_at(when, self._tick)

    def _tick(self) -> None:
        self._arm()
        self.request("schedule")

    def request(self, reason: str) -> bool:
        """Start a fine-tune now unless one runs or there is too little data; True if started."""
        inst = self.instrument
        if self.state != "idle" or self.current is None:
            return False
        log_path = None if inst.log is None else inst.log.path
        if log_path is None or self._performed < self.config.min_events:
            played = f"{self._performed} of {self.config.min_events} performer's events logged"
            self.last = {"skipped": played}
            return False
        job = Job(
            store=self.store.directory,
            parent=self.current,
            logs=(log_path,),
            original=self.config.original,
            config=self.config.finetune,
            nice=self.config.nice,
            threads=self.config.finetune.threads,
        )
        self._events, self._since = 0, self.clock.now()
        if inst.log is not None:
            inst.log.note("learn", t=self._since, state="start", parent=self.current)
        self.state = "training"
        self.counts["fine_tunes"] += 1
        self._process = LearnerProcess(job)
        rng = inst.runtime.rng if inst.runtime is not None else None
        threading.Thread(
            target=self._run, args=(self._process, rng), name="foretell-learn", daemon=True
        ).start()
        log.info("%s: fine-tuning from version %d (%s)", inst.name, self.current, reason)
        return True

    # -- off the loop ---------------------------------------------------------------------------

    def _run(self, process: LearnerProcess, rng: np.random.Generator | None) -> None:
        """Helper thread: run the job, build the accepted model's runtime, post both to the loop."""
        try:
            process.start()
            outcome = process.wait()
        except Exception as exc:
            outcome = JobOutcome(error=f"cannot start the learner ({exc})")
        runtime: Voice | BaseException | None = None
        if outcome.version is not None:
            runtime = self._build(outcome.version, rng)
        assert self._post is not None
        self._post(lambda: self._finished(outcome, runtime))

    def _build(self, number: int, rng: np.random.Generator | None) -> Voice | BaseException:
        try:
            return load(self.store.path(number)).voice(rng)  # checks the number
        except Exception as exc:
            return exc

    # -- back on the loop -----------------------------------------------------------------------

    def _finished(self, outcome: JobOutcome, runtime: Voice | BaseException | None) -> None:
        self._process = None
        if self.state == "training":
            self.state = "idle"
        self.last = {"version": outcome.version, **outcome.metrics}
        name = self.instrument.name
        if self.instrument.log is not None:
            self.instrument.log.note("learn", t=self.clock.now(), state="end", **self.last)
        if outcome.error is not None:
            self.counts["failed"] += 1
            self.last["error"] = outcome.error
            log.warning("%s: fine-tune failed (%s); playing on", name, outcome.error)
        elif isinstance(runtime, BaseException):
            self.counts["failed"] += 1
            self.last["error"] = str(runtime)
        elif runtime is not None and outcome.version is not None:
            self.counts["accepted"] += 1
            self.newest = outcome.version
            self._swap(runtime, outcome.version)
        else:
            self.counts["rejected"] += 1
            log.info("%s: fine-tune not kept (%s)", name, outcome.metrics.get("reason"))

    def _swap(self, runtime: Voice, number: int) -> None:
        """Swap ``runtime`` in now (between events), timing the engine-side cost."""
        inst = self.instrument
        started = time.perf_counter()
        swapped = inst.swap_runtime(runtime, str(self.store.directory / version_file(number)))
        elapsed_ms = (time.perf_counter() - started) * 1e3
        if not swapped:
            return
        self.current = number
        self.swap_ms.append(elapsed_ms)
        if inst.log is not None:
            inst.log.note("model", t=self.clock.now(), version=number, swap_ms=elapsed_ms)
        log.info("%s: now playing version %d (swap %.3f ms)", inst.name, number, elapsed_ms)

    def rollback(self, number: int) -> None:
        """Swap version ``number`` back in (loaded on a helper thread)."""
        inst = self.instrument
        if self.current is None:
            inst.rejections.add("no_learner", "learning is not running")
            return
        rng = inst.runtime.rng if inst.runtime is not None else None
        post = self._post
        assert post is not None

        def load() -> None:
            runtime = self._build(number, rng)
            post(lambda: self._rolled_back(number, runtime))

        threading.Thread(target=load, name="foretell-rollback", daemon=True).start()

    def _rolled_back(self, number: int, runtime: Voice | BaseException) -> None:
        if isinstance(runtime, BaseException):
            self.instrument.rejections.add("bad_model", f"version {number}: {runtime}")
            return
        self._swap(runtime, number)

    # -- reporting ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """A small JSON-able summary for snapshots and the dashboard."""
        return {
            "state": self.state,
            "schedule": self.config.schedule.describe(),
            "version": self.current,
            "newest": self.newest,
            "events_since": self._events,
            **self.counts,
            "swap_ms": self.swap_ms[-1] if self.swap_ms else None,
            "last": dict(self.last),
        }
