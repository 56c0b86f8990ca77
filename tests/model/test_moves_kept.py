"""A control a moves model does not move keeps the previous event's value to the last bit.

The model's moved set in an event is its continuous controls and the discrete controls whose
cell changed; every other control hands back the value of the event the model followed,
float64 for float64 (held ones: the held value). Checked on every path that plays a moves
model: a voice's ``observe`` and ``sample``, a kept prediction, ``generate_performance`` and
``foretell generate``'s CSV, voices stepped together, an ensemble batching its steps, an
instrument steered; after a performer's event whose values float32 cannot hold (0.1, 3/7) and
after the model's own.
"""

from __future__ import annotations

import csv
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.clock import FakeClock
from foretell.commands import SetMode
from foretell.config import config_from_dict
from foretell.events import Event
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import ControlKind
from foretell.model.generate import generate_performance
from foretell.model.moves import MovesModel, MovesVoice
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import load, load_voice
from foretell.model.runtime import MIN_BATCH
from foretell.model.transform import DataTransform
from foretell.perform.batching import _DeferringInbox
from foretell.perform.build import build_engine
from foretell.perform.instrument import load_now
from tests.model.data.make_moves_reference import SETTINGS
from tests.moves_files import random_weights_file
from tests.perform.helpers import instrument

DATA = Path(__file__).parent / "data"
# a performer's events on each committed model: values off the float32 grid (and the knobs'
# 0.1, 0.3, 0.7, 0.9 off the model's 7-bit grid too)
HUMAN = {
    "knobs": [[0.05, 0.1, 0.3, 0.7, 0.9], [0.2, 0.9, 0.1, 0.3, 0.7]],
    "mixed": [[0.05, 0.1, 3 / 7, 0.3, 0.3], [0.2, 0.7, 5 / 7, 0.1, 0.7]],
}


def _bits(values: Any) -> list[int]:
    return np.asarray(values, dtype=np.float64).view(np.uint64).tolist()


def _kept_wrong(
    spec: MovesSpec, before: Any, after: Any, constraints: Constraints | None = None
) -> list[str]:
    """Each control the model did not move (a discrete one still in its cell, not outside its
    range before) whose value in ``after`` is not ``before``'s to the bit (a held one: not the
    held value)."""
    holds = {} if constraints is None else constraints.holds
    ranges = {} if constraints is None else constraints.ranges
    wrong = []
    for c, kind in enumerate(spec.controls):
        want = before[1 + c]
        lo, hi = ranges.get(c, (0.0, 1.0))
        if c in holds:
            want = holds[c]
        elif not kind.discrete or kind.cell_of(after[1 + c]) != kind.cell_of(before[1 + c]):
            continue  # moved
        elif not lo <= want <= hi:
            continue  # moved into its range
        if _bits(after[1 + c]) != _bits(want):
            wrong.append(f"control {c}: {after[1 + c]!r} after {want!r}")
    return wrong


def _model(name: str) -> MovesModel:
    model = load(DATA / f"moves-{name}.ftm")
    assert isinstance(model, MovesModel)
    return model


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("name", ["knobs", "mixed"])
def test_a_voice_keeps_what_it_does_not_move_to_the_bit(name: str, setting: str) -> None:
    """300 events under each temperature, activity and steering of the references, a
    performer's event every 50 (the first one first)."""
    pi, sigma, activity, steering = SETTINGS[setting]
    constraints = None if steering is None else steering[name]
    model = _model(name)
    voice = model.voice(np.random.default_rng(7))
    wrong, kept = [], 0
    event = np.array(HUMAN[name][0])
    for step in range(300):
        if step % 50 == 0:
            event = np.array(HUMAN[name][step // 50 % 2])
        following = voice.sample(voice.observe(event), pi, sigma, constraints, activity)
        kept_wrong = _kept_wrong(model.spec, event, following, constraints)
        wrong += [f"step {step}: {w}" for w in kept_wrong]
        kept += sum(following[1:] == event[1:])
        event = following
    assert not wrong, wrong[:5]
    assert kept > 100  # the model does keep controls


@pytest.mark.parametrize("name", ["knobs", "mixed"])
def test_a_kept_prediction_and_a_hot_swapped_one_keep_the_performers_values(name: str) -> None:
    """A copy of the prediction (what a display keeps, what a swapped-in voice of the same
    layout draws from) carries the event it followed exactly."""
    model = _model(name)
    voice = model.voice(np.random.default_rng(3))
    human = np.array(HUMAN[name][0])
    kept = voice.observe(human).copy()
    other = model.voice(np.random.default_rng(4))  # draws from a prediction not its own
    wrong = []
    for _ in range(200):
        for drawer in (voice, other):
            wrong += _kept_wrong(model.spec, human, drawer.sample(kept, 0.9, 0.7))
    assert not wrong, wrong[:5]
    assert _bits(kept[model.params :]) == _bits(human)


@pytest.mark.parametrize("n", [2, MIN_BATCH, 9])
def test_voices_stepped_together_keep_what_they_do_not_move(n: int) -> None:
    model = _model("knobs")
    voices = [model.voice(np.random.default_rng(20 + i)) for i in range(n)]
    events = [np.array(HUMAN["knobs"][i % 2]) for i in range(n)]
    wrong = []
    for step in range(60):
        model.step(voices, events)
        following = [v.sample(v.prediction) for v in voices]
        for voice, before, after in zip(voices, events, following, strict=True):
            assert _bits(voice.prediction[model.params :]) == _bits(before)
            wrong += [f"step {step}: {w}" for w in _kept_wrong(model.spec, before, after)]
        events = following
    assert not wrong, wrong[:5]


def test_generate_performance_keeps_what_it_does_not_move() -> None:
    model = _model("mixed")
    played = generate_performance(model.voice(np.random.default_rng(5)), 400, 0.9, 0.8)
    wrong = []
    for before, after in pairwise(played):
        wrong += _kept_wrong(model.spec, before, after)
    assert not wrong, wrong[:5]


TEN_BIT = ControlKind("grid", origin=0.0, step=1 / 1023, levels=1024)  # serial, ``scale = 1023``


def _ten_bit_model(path: Path) -> Path:
    """Three 10-bit controls (an Arduino's analogue inputs), moved one at a time or none."""
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5), (0.8, 0.3, 0.3, 0.3))
    spec = MovesSpec(
        4, 1, 8, 3, transform, controls=(TEN_BIT,) * 3, patterns=(0, 1, 2, 4),
        other_patterns=False,
    )  # fmt: skip
    return random_weights_file(path, spec, 11, 0.5, "ten-bit")


def test_foretell_generate_writes_a_kept_control_as_the_row_before(tmp_path: Path) -> None:
    """The CSV on disk: a control whose cell did not change is written as the row before it
    (a 10-bit grid has values whose float32 rounding prints differently at six digits)."""
    model = _ten_bit_model(tmp_path / "ten-bit.ftm")
    out = tmp_path / "played.csv"
    args = ["generate", str(model), "--steps", "3000", "--seed", "2", "--out", str(out)]
    ran = CliRunner().invoke(cli, args)
    assert ran.exit_code == 0, ran.output
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert len(rows) == 3000
    wrong, kept = [], 0
    for i, (before, after) in enumerate(pairwise(rows)):
        for c in range(3):
            a, b = float(before[1 + c]), float(after[1 + c])
            if TEN_BIT.cell_of(a) == TEN_BIT.cell_of(b):
                kept += 1
                if before[1 + c] != after[1 + c]:
                    wrong.append(f"row {i + 1}, x{c + 1}: {after[1 + c]} after {before[1 + c]}")
    assert kept > 3000
    assert not wrong, wrong[:5]


def test_an_ensemble_batching_its_steps_keeps_each_performers_values() -> None:
    """Four instruments in filter mode on one moves model, their inputs stepped together: in
    each answer, every control the engine does not call moved is the performer's value."""
    clock = FakeClock()
    names = ("a", "b", "c", "d")
    model = str(DATA / "moves-knobs.ftm")
    config = config_from_dict(
        {
            "model": {"seed": 0},
            "log": {"enabled": False},
            "instrument": {
                n: {"model": model, "mode": "filter", "listen_port": 0, "batch": True}
                for n in names
            },
        }
    )
    session = build_engine(config, clock, load_now)
    answers: list[tuple[str, Event]] = []
    session.engine.add_listener(
        lambda name, event: answers.append((name, event)) if event.source == "model" else None
    )
    instruments = session.engine.instruments
    for inst in instruments.values():
        inst.start()
    assert session.batcher is not None
    inboxes = {n: _DeferringInbox(instruments[n], instruments[n], session.batcher) for n in names}
    played: dict[str, list[list[float]]] = {n: [] for n in names}
    for step in range(20):
        for i, name in enumerate(names):  # one wake-up: every instrument gets an input
            values = [0.1 * (1 + (i + step) % 9), 0.3, 0.7, 0.9 - 0.1 * (step % 3)]
            played[name].append(values)
            inboxes[name].on_input(values)
        clock.advance(0.02)
    assert session.batcher.stats()["largest"] == 4
    assert len(answers) == 80
    wrong, answered = [], {n: 0 for n in names}
    for name, event in answers:
        before = played[name][answered[name]]  # each answer follows its instrument's input
        answered[name] += 1
        assert event.moved is not None
        for c, value in enumerate(event.values):
            if c not in event.moved and _bits(value) != _bits(before[c]):
                wrong.append(f"{name} control {c}: {value!r} after {before[c]!r}")
    assert not wrong, wrong[:5]


def test_a_steered_instrument_keeps_the_performers_values() -> None:
    """Held controls are the held value, a range keeps a value already inside it, and every
    control the engine does not call moved is the performer's value exactly."""
    held = Constraints(holds={1: 0.25}, ranges={0: (0.05, 0.6), 2: (0.0, 0.75)})
    inst, clock, sink = instrument("filter", with_model=False, dimension=5, constraints=held)
    assert inst.swap_runtime(load_voice(DATA / "moves-knobs.ftm", seed=1), "knobs")
    assert isinstance(inst.runtime, MovesVoice)
    assert inst.on_command(SetMode("filter")).refused is None  # built without a model: useronly
    sink.events.clear()
    played = [[0.1 + 0.1 * (i % 5), 0.3, 0.7 - 0.1 * (i % 3), 0.9] for i in range(60)]
    wrong, kept = [], 0
    for values in played:
        inst.on_input(values)
        clock.advance(0.02)
        (answer,) = [e for e in sink.events if e.source == "model"]
        sink.events.clear()
        assert answer.moved is not None and answer.values[1] == 0.25
        spec = inst.runtime.model.spec
        wrong += _kept_wrong(spec, [0.0, *values], [0.0, *answer.values], held)
        for c, value in enumerate(answer.values):
            if c != 1 and c not in answer.moved:
                kept += 1
                if _bits(value) != _bits(values[c]):
                    wrong.append(f"control {c}: {value!r} after {values[c]!r}")
    assert kept > 30
    assert not wrong, wrong[:5]
