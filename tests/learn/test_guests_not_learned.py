"""Learning from the performer only, for real: an engine with a learner and an OSC input open to
the LAN; the performer plays from this machine, a stranger (a second host: a network namespace)
plays values near 0.9 at the same time. The stranger's rows are logged as a guest's, the fine-tune
trains on the performer's alone, and a stranger alone never starts one."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import numpy as np

from foretell import commands as control
from foretell.clock import LoopClock
from foretell.config.learn import LearnConfig
from foretell.config.schedule import LearnSchedule
from foretell.data.log import LogWriter, read_log
from foretell.io.base import ListSink
from foretell.io.osc import OscSource
from foretell.io.osc_codec import encode_floats
from foretell.learn.coordinator import Learner
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, Settings
from foretell.perform.listeners import Listeners
from foretell.perform.scheduler import Scheduler
from tests.fixtures import bundled_performances
from tests.learn.test_live_learning import FAST
from tests.netns import Stranger

GAP = 0.003  # seconds between one player's inputs
GUEST = [0.9, 0.9, 0.9]


def _rig(tmp_path: Path) -> tuple[Engine, Instrument, Learner, OscSource]:
    clock = LoopClock()
    hub = Listeners()
    inst = Instrument(
        "main",
        Settings(mode="filter"),
        clock,
        Scheduler(clock),
        [ListSink()],
        runtime=DenseModel(random_model(units=16)).voice(np.random.default_rng(0)),
        log_writer=LogWriter(tmp_path / "logs", clock),
        listeners=[hub],
    )
    config = LearnConfig(LearnSchedule("demand"), tmp_path / "models", None, FAST, min_events=100)
    learner = Learner(config, inst, clock)
    source = OscSource("0.0.0.0", 0)
    engine = Engine(
        clock, inst.scheduler, [inst], [(source, "main")], services=[learner], listeners=hub
    )
    return engine, inst, learner, source


async def _play(
    source: OscSource, stranger: Stranger, performer_rows: np.ndarray, guests: int
) -> None:
    """The performer's rows from 127.0.0.1 and ``guests`` inputs from the stranger, interleaved."""
    port = source.address[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mine, stranger.socket() as theirs:
        for i in range(max(len(performer_rows), guests)):
            if i < len(performer_rows):
                values = [float(v) for v in performer_rows[i][1:]]
                mine.sendto(encode_floats("/interface", values), ("127.0.0.1", port))
            if i < guests:
                theirs.sendto(encode_floats("/interface", GUEST), (stranger.gateway, port))
            await asyncio.sleep(GAP)


async def _until(condition: object, seconds: float = 90) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_a_fine_tune_learns_the_performer_and_not_the_stranger(
    tmp_path: Path, stranger: Stranger
) -> None:
    engine, inst, learner, source = _rig(tmp_path)
    performer = bundled_performances(300)[1][:300]

    async def scenario() -> None:
        engine.start()
        try:
            await _play(source, stranger, performer, guests=300)
            await _until(lambda: inst.snapshot().inputs == 600)
            engine.command(control.Learn())
            assert learner.state == "training"
            await _until(lambda: learner.state == "idle")
        finally:
            engine.stop()

    asyncio.run(scenario())
    assert inst.log is not None and inst.log.path is not None
    rows = read_log(inst.log.path).rows
    assert sum(r.source == "guest" for r in rows) == 300
    assert sum(r.source == "user" for r in rows) == 300
    trained = learner.status()["last"]
    assert "error" not in trained, trained
    assert trained["new_events"] <= 300  # the performer's rows (less the first), none of the 300


def test_a_stranger_alone_never_starts_a_fine_tune(tmp_path: Path, stranger: Stranger) -> None:
    engine, inst, learner, source = _rig(tmp_path)

    async def scenario() -> None:
        engine.start()
        try:
            await _play(source, stranger, np.zeros((0, 4)), guests=300)
            await _until(lambda: inst.snapshot().inputs == 300)
            engine.command(control.Learn())
        finally:
            engine.stop()

    asyncio.run(scenario())
    assert learner.status()["fine_tunes"] == 0
    assert "0 of 100" in learner.status()["last"]["skipped"]
