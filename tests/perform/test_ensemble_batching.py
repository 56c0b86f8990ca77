"""Inputs that coincide in one wake-up are stepped together, and answer exactly as alone."""

from __future__ import annotations

from pathlib import Path

from foretell.clock import FakeClock
from foretell.config import config_from_dict
from foretell.model.random import random_model_file
from foretell.perform.batching import BatchedVoice, BatchingOscSource, _DeferringInbox
from foretell.perform.build import Session, build_engine
from foretell.perform.instrument import load_now

NAMES = ("a", "b", "c", "d")


def _answers(model: Path, batch: bool) -> tuple[list[tuple[str, tuple[float, ...]]], Session]:
    clock = FakeClock()
    config = config_from_dict(
        {
            "model": {"seed": 0},
            "log": {"enabled": False},
            "instrument": {
                n: {"model": str(model), "mode": "filter", "listen_port": 0, "batch": batch}
                for n in NAMES
            },
        }
    )
    session = build_engine(config, clock, load_now)
    heard: list[tuple[str, tuple[float, ...]]] = []
    session.engine.add_listener(
        lambda name, event: heard.append((name, event.values)) if event.source == "model" else None
    )
    for inst in session.engine.instruments.values():
        inst.start()
    assert session.batcher is not None
    instruments = session.engine.instruments
    inboxes = {n: _DeferringInbox(instruments[n], instruments[n], session.batcher) for n in NAMES}
    for step in range(10):
        for i, name in enumerate(NAMES):  # one wake-up: every instrument gets an input
            inboxes[name].on_input([0.1 * i, 0.5, 0.05 * step])
        clock.advance(0.02)
    return heard, session


def test_coinciding_inputs_are_one_batch_and_answer_as_if_alone(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm")
    batched, session = _answers(model, batch=True)
    alone, plain = _answers(model, batch=False)
    assert len(batched) == len(alone) == 40
    for (_, got), (_, want) in zip(sorted(batched), sorted(alone), strict=True):
        assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 1e-5  # float32
    assert session.batcher is not None
    stats = session.batcher.stats()
    assert stats["largest"] == 4 and stats["steps"] == 40 and stats["batches"] == 10
    runtimes = [i.runtime for i in session.engine.instruments.values()]
    assert all(isinstance(r, BatchedVoice) for r in runtimes)
    assert not any(isinstance(i.runtime, BatchedVoice) for i in plain.engine.instruments.values())
    assert isinstance(session.sources["a"], BatchingOscSource)


def test_a_second_input_for_the_same_voice_runs_the_first_step_first(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm")
    _, session = _answers(model, batch=True)
    inst = session.engine.instruments["a"]
    assert session.batcher is not None and inst.runtime is not None
    before = session.batcher.steps
    inst.on_input([0.2, 0.2, 0.2], answer=False)
    inst.on_input([0.3, 0.3, 0.3], answer=False)  # flushes the first
    assert session.batcher.steps == before + 1
    inst.runtime.get_state()  # reading flushes the second
    assert session.batcher.steps == before + 2
