"""Learning while playing, for real: a live engine on an asyncio loop, a spawned learner process
fine-tuning on the session's log (bundled LightPad data fed as user input) and the bundled set.

Without the train extra (torch) the learning tests skip, and the one that checks the performance
plays on without it runs."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from foretell import commands as control
from foretell.clock import LoopClock
from foretell.config.learn import FinetuneConfig, LearnConfig
from foretell.config.schedule import LearnSchedule
from foretell.data.dataset import bundled_dataset_path
from foretell.data.log import LogWriter
from foretell.io.base import ListSink
from foretell.learn import coordinator
from foretell.learn.coordinator import Learner
from foretell.model.fileformat import weights_digest
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, Settings
from foretell.perform.listeners import Listeners
from foretell.perform.scheduler import Scheduler
from tests.fixtures import bundled_performances

needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="learning while playing needs the train extra (torch)",
)

# epochs, not the clock, end a fine-tuning: on a loaded machine the same run takes longer, and
# what it learns must not depend on how long it had
FAST = FinetuneConfig(epochs=3, patience=3, max_seconds=600, check_events=1000)
GAP = 0.002  # seconds between fed inputs
PATIENCE = 600.0  # seconds a test waits for the learner before it fails (a quiet machine: ~10)


@dataclass
class Rig:
    engine: Engine
    instrument: Instrument
    sink: ListSink
    learner: Learner


def build(tmp_path: Path, finetune: FinetuneConfig = FAST) -> Rig:
    clock = LoopClock()
    sink = ListSink()
    hub = Listeners()
    inst = Instrument(
        "main",
        Settings(mode="filter"),
        clock,
        Scheduler(clock),
        [sink],
        runtime=DenseModel(random_model(units=16)).voice(np.random.default_rng(0)),
        log_writer=LogWriter(tmp_path / "logs", clock),
        listeners=[hub],
    )
    config = LearnConfig(
        LearnSchedule("demand"),
        tmp_path / "models",
        bundled_dataset_path(),
        finetune,
        min_events=100,
        nice=0,  # at 19, on a machine at load 30 the learner got ~1 % of a core: minutes an epoch
    )
    learner = Learner(config, inst, clock)
    engine = Engine(clock, inst.scheduler, [inst], sinks=[sink], services=[learner], listeners=hub)
    return Rig(engine, inst, sink, learner)


def run(tmp_path: Path, scenario: Callable[[Rig], Awaitable[None]], **kwargs: object) -> Rig:
    rig = build(tmp_path, **kwargs)  # type: ignore[arg-type]

    async def main() -> None:
        rig.engine.start()  # starts the learner too
        try:
            await scenario(rig)
        finally:
            rig.engine.stop()

    asyncio.run(main())
    return rig


async def feed(rig: Rig, events: np.ndarray) -> None:
    for row in events:
        rig.instrument.on_input([float(v) for v in row[1:]])
        await asyncio.sleep(GAP)


async def feed_until(rig: Rig, events: np.ndarray, done: Callable[[], bool]) -> None:
    """Keep playing (cycling ``events``) until ``done()``; fail after ``PATIENCE`` seconds."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while asyncio.get_running_loop().time() < deadline:
        if done():
            return
        await feed(rig, events[:200])
    pytest.fail(f"still waiting: {rig.learner.status()}")


def digest(rig: Rig) -> str:
    assert rig.instrument.runtime is not None
    return weights_digest(rig.instrument.runtime.model.file.weights)


def played() -> np.ndarray:
    return bundled_performances(400)[1]


@needs_torch
def test_a_better_model_is_swapped_in_without_dropping_events(tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        await feed(rig, played())
        rig.engine.command(control.Learn())
        assert rig.learner.state == "training"
        await feed_until(rig, played(), lambda: rig.learner.state == "idle")

    rig = run(tmp_path, scenario)
    status = rig.learner.status()
    assert status["accepted"] == 1, status
    assert status["version"] == 1 and str(rig.instrument.model_name).endswith("v001.ftm")
    assert status["last"]["recent_nll_after"] < status["last"]["recent_nll_before"]
    assert status["swap_ms"] > 0  # measured; the figure is ``foretell bench live``'s
    inst = rig.instrument
    assert (
        inst.snapshot().answers == inst.snapshot().inputs == len(rig.sink.events)
    )  # every input answered, none lost
    assert inst.snapshot().stale == inst.snapshot().cancelled == 0
    kept = rig.learner.store.versions()
    assert [v.number for v in kept] == [0, 1] and kept[1].data["logs"]


@needs_torch
def test_a_worse_model_is_not_swapped_in(tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        before = rig.instrument.runtime
        await feed(rig, played())
        rig.learner.request("test")
        await feed_until(rig, played(), lambda: rig.learner.state == "idle")
        assert rig.instrument.runtime is before

    rig = run(tmp_path, scenario, finetune=replace(FAST, min_gain=1e6))
    status = rig.learner.status()
    assert (status["rejected"], status["accepted"], status["version"]) == (1, 0, 0)
    assert "does not beat" in status["last"]["reason"]
    assert len(rig.learner.store.versions()) == 1


@needs_torch
def test_rollback_plays_an_earlier_version_again(tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        start = digest(rig)
        await feed(rig, played())
        rig.learner.request("test")
        await feed_until(rig, played(), lambda: rig.learner.state == "idle")
        assert rig.learner.current == 1
        rig.engine.command(control.Rollback(0))
        await feed_until(rig, played(), lambda: rig.learner.current == 0)
        assert digest(rig) == start
        rig.engine.command(control.Rollback(9))
        await feed(rig, played()[:50])
        assert rig.instrument.rejections.counts["bad_model"] == 1

    rig = run(tmp_path, scenario)
    assert str(rig.instrument.model_name).endswith("v000.ftm")


@needs_torch
def test_killing_the_learner_leaves_the_performance_running(tmp_path: Path) -> None:
    async def scenario(rig: Rig) -> None:
        await feed(rig, played())
        rig.learner.request("test")
        await feed_until(rig, played(), lambda: rig.learner.pid is not None)
        await feed(rig, played()[:100])
        os.kill(rig.learner.pid, signal.SIGKILL)  # type: ignore[arg-type]
        await feed_until(rig, played(), lambda: rig.learner.state == "idle")
        answered = rig.instrument.snapshot().answers
        await feed(rig, played()[:100])
        assert rig.instrument.snapshot().answers == answered + 100

    slow = replace(FAST, epochs=10_000, patience=10_000, max_seconds=PATIENCE)
    rig = run(tmp_path, scenario, finetune=slow)
    status = rig.learner.status()
    assert status["failed"] == 1 and "died" in status["last"]["error"], status
    assert rig.instrument.snapshot().inputs == rig.instrument.snapshot().answers


def test_without_torch_it_says_so_once_and_plays_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(coordinator, "torch_available", lambda: False)

    async def scenario(rig: Rig) -> None:
        await feed(rig, played()[:50])
        rig.engine.command(control.Learn())
        await feed(rig, played()[:50])

    with caplog.at_level(logging.WARNING):
        rig = run(tmp_path, scenario)
    assert [r.message for r in caplog.records].count(coordinator.NO_TORCH) == 1
    assert rig.learner.status()["state"] == "unavailable"
    assert rig.instrument.snapshot().answers == 100
    assert rig.instrument.rejections.counts["no_learner"] == 1
