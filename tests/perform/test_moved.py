"""Which controls moved in each event (``Event.moved``) and the dashboard's ``moved`` field: the
performer's against their previous event, the model's against the event it drew from."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from foretell.dashboard.frames import event_message
from foretell.events import Event, moved_controls
from foretell.model.protocol import load_voice
from tests.moves_files import moves_model_file
from tests.perform.helpers import instrument, play


def test_moved_controls_compares_value_by_value() -> None:
    assert moved_controls((), (0.1, 0.2)) == (0, 1)  # nothing before: everything moved
    assert moved_controls((0.1, 0.2, 0.3), (0.1, 0.25, 0.3)) == (1,)
    assert moved_controls((0.3,), (float(np.float32(0.3)),)) == ()  # float32 rounding only


def test_a_performers_event_moved_what_differs_from_their_previous_one() -> None:
    inst, clock, _ = instrument("useronly", with_model=False, dimension=4)
    heard: list[Event] = []
    inst.listeners = [lambda _, event: heard.append(event)]
    for values in ([0.5, 0.5, 0.5], [0.5, 0.7, 0.5], [0.5, 0.7, 0.5], [0.0, 0.7, 1.0]):
        inst.on_input(values)
        clock.advance(0.01)
    assert [e.moved for e in heard] == [(0, 1, 2), (1,), (), (0, 2)]
    assert [event_message(e)["moved"] for e in heard] == [[0, 1, 2], [1], [], [0, 2]]


def test_a_dense_models_answer_moved_every_control_it_changed() -> None:
    inst, clock, sink = instrument("filter")
    play(inst, clock, 10)
    answers = [e for e in sink.events if e.source == "model"]
    played = [(0.1 + 0.8 * (i % 5) / 4, 0.5, 0.25) for i in range(10)]
    assert len(answers) == 10
    for before, answer in zip(played, answers, strict=True):
        changed = tuple(c for c in range(3) if answer.values[c] != before[c])
        assert answer.moved == changed == (0, 1, 2)


def test_a_moves_models_events_name_the_controls_it_moved(tmp_path: Path) -> None:
    """Playing on its own, each event is drawn after the one before: a grid control it did not
    move keeps that value exactly and is not named, the continuous control always moves."""
    inst, clock, sink = instrument("battle")
    assert inst.swap_runtime(load_voice(moves_model_file(tmp_path / "m.ftm"), seed=3))
    sink.events.clear()
    inst.on_input([0.5, 0.5, 0.5])
    clock.advance(20.0)
    played = [e for e in sink.events if e.source == "model"]
    assert len(played) > 50
    sizes = set()
    for before, event in pairwise(played):
        assert event.moved is not None and 2 in event.moved
        for c in (0, 1):
            assert (c in event.moved) == (event.values[c] != np.float32(before.values[c]))
        sizes.add(len(event.moved))
        assert event_message(event, "main")["moved"] == list(event.moved)
    assert sizes == {1, 2, 3}  # none, one or both grid controls moved, as the patterns allow
