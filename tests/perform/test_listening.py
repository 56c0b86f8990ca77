"""Cross-listening on a fake clock: who hears whom, and the loop guard, hop by hop."""

from __future__ import annotations

from pathlib import Path

from foretell.clock import FakeClock
from foretell.config import config_from_dict
from foretell.model.random import random_model_file
from foretell.perform.build import build_engine
from foretell.perform.engine import EngineInbox
from foretell.perform.instrument import load_now


def test_the_loop_guard_stops_two_instruments_answering_each_other(tmp_path: Path) -> None:
    model = str(random_model_file(tmp_path / "m.ftm"))
    listening = {"a": ["b"], "b": ["a"], "c": ["a:user"]}
    config = config_from_dict(
        {
            "model": {"seed": 0},
            "log": {"enabled": False},
            "instrument": {
                name: {"model": model, "mode": "filter", "listen_port": 0, "listen_to": heard}
                for name, heard in listening.items()
            },
        }
    )
    clock = FakeClock()
    session = build_engine(config, clock, load_now)
    engine = session.engine
    for inst in engine.instruments.values():
        inst.start()
    EngineInbox(engine, engine.instrument("a"), "osc").on_input([0.1, 0.2, 0.3])
    for _ in range(20):  # each delivery waits for the next turn of the loop
        clock.advance(0.001)
    snap = {i.name: i for i in engine.snapshot().instruments}
    # performer -> a, a -> b (1), b -> a (2), a -> b (3), b -> a (4), a -> b (5: dropped);
    # c hears every input a takes: its performer's and b's answers.
    assert (snap["a"].inputs, snap["b"].inputs, snap["c"].inputs) == (3, 2, 2)
    assert snap["b"].rejected == {"loop_guard": 1} and snap["c"].rejected == {"loop_guard": 1}
    assert session.listening is not None
    assert session.listening.delivered() == {"a->c": 2, "a->b": 2, "b->a": 2}
    clock.advance(1.0)
    assert engine.snapshot().instruments[0].inputs == 3  # and it stays stopped
