"""Builders for engine tests: an instrument on a FakeClock with list-backed outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from foretell.clock import FakeClock
from foretell.data.log import LogWriter
from foretell.io.base import ListSink
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel, DenseVoice
from foretell.perform.instrument import Instrument, Listener, ModelLoader, Settings, load_now
from foretell.perform.scheduler import Scheduler


def runtime(seed: int = 0, dimension: int = 4, units: int = 16) -> DenseVoice:
    return DenseModel(random_model(dimension=dimension, units=units)).voice(
        np.random.default_rng(seed)
    )


def instrument(
    mode: str = "filter",
    log_dir: Path | None = None,
    with_model: bool = True,
    dimension: int | None = None,
    loader: ModelLoader = load_now,
    models_dir: Path | None = None,
    listeners: Sequence[Listener] = (),
    **settings: object,
) -> tuple[Instrument, FakeClock, ListSink]:
    clock = FakeClock()
    sink = ListSink()
    sink.start()
    log = LogWriter(log_dir, clock) if log_dir is not None else None
    inst = Instrument(
        "main",
        replace(Settings(mode=mode), **settings),  # type: ignore[arg-type]
        clock,
        Scheduler(clock),
        [sink],
        runtime=runtime() if with_model else None,
        log_writer=log,
        dimension=dimension,
        loader=loader,
        models_dir=models_dir,
        listeners=listeners,
    )
    inst.start()
    return inst, clock, sink


def play(inst: Instrument, clock: FakeClock, n: int, gap: float = 0.02) -> None:
    """``n`` user inputs ``gap`` seconds apart (the clock runs due timers in between)."""
    for i in range(n):
        inst.on_input([0.1 + 0.8 * (i % 5) / 4, 0.5, 0.25])
        clock.advance(gap)
