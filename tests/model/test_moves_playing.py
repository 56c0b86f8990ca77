"""A moves model plays through the model protocol: an instrument steered (a held control never
moves, a range truncates a grid), an ensemble sharing it, the dashboard's card and expected
next, ``foretell info``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.clock import FakeClock
from foretell.config import config_from_dict
from foretell.dashboard.frames import Activity, expect_message, state_message
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile, save_model
from foretell.model.moves import MovesModel
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import load_voice
from foretell.model.transform import DataTransform
from foretell.perform.build import build_engine
from foretell.perform.instrument import load_now
from tests.perform.helpers import instrument, play

GRID = ControlKind("grid", origin=0.0, step=1 / 8, levels=9)


@pytest.fixture
def moves_file(tmp_path: Path) -> Path:
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5), (0.8, 0.3, 0.3, 0.3))
    spec = MovesSpec(
        4, 1, 8, 3, transform, controls=(GRID, GRID, ControlKind("continuous")),
        patterns=(0, 1, 2, 3), other_patterns=False,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    weights = {
        n: (rng.standard_normal(s) * 0.5).astype(np.float32)
        for n, s in spec.tensor_shapes().items()
    }
    return save_model(tmp_path / "moves.ftm", ModelFile(spec, weights, {"name": "m"}))


def _on_grid(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values * 8 - np.round(values * 8)) < 1e-9))


def test_an_instrument_plays_it_steered(moves_file: Path) -> None:
    held = Constraints(holds={1: 0.5}, ranges={0: (0.25, 0.5)})
    inst, clock, sink = instrument("filter", constraints=held)
    assert inst.swap_runtime(load_voice(moves_file, seed=1), str(moves_file))
    assert inst.runtime is not None and isinstance(inst.runtime.model, MovesModel)
    sink.events.clear()
    play(inst, clock, 40)
    answers = np.array([e.values for e in sink.events if e.source == "model"])
    assert len(answers) == 40
    assert (answers[:, 1] == 0.5).all()  # held: never moves
    played = [0.1 + 0.8 * (i % 5) / 4 for i in range(40)]  # what ``play`` sends to control 0
    assert ((answers[:, 0] >= 0.25) & (answers[:, 0] <= 0.5)).all()
    for value, before in zip(answers[:, 0], played, strict=True):  # moved onto the grid, or
        assert _on_grid(np.array([value])) or value == before  # kept: the player's 0.3 or 0.5
    snap = inst.snapshot()
    card = state_message(snap, inst.runtime.model, Activity.create())["state"]["model"]
    assert card["dimension"] == 4 and card["controls"] == ["grid", "grid", "continuous"]
    expect = expect_message(inst.runtime.model, snap, None)["expect"]
    assert expect["dt"] > 0 and len(expect["moves"]) == 3 and expect["moves"][2] == 1.0
    assert all(len(c["x"]) == 3 for c in expect["components"])


def test_each_answer_keeps_the_players_value_or_moves_onto_the_grid(moves_file: Path) -> None:
    """In filter mode each answer follows the player's event: a grid control either keeps the
    player's value exactly (the player's 0.1 is off the model's grid) or moves onto the grid."""
    inst, clock, sink = instrument("filter")
    assert inst.swap_runtime(load_voice(moves_file, seed=2), str(moves_file))
    play(inst, clock, 40)
    answers = [e.values for e in sink.events if e.source == "model"]
    played = [[0.1 + 0.8 * (i % 5) / 4, 0.5, 0.25] for i in range(40)]  # what ``play`` sends
    answered = list(zip(played, answers, strict=True))
    moved = 0
    for played, answer in answered:
        for c in (0, 1):
            kept = answer[c] == played[c]
            assert kept or _on_grid(np.array([answer[c]]))
            moved += not kept
    assert moved > 20


def test_an_ensemble_shares_one_moves_model(moves_file: Path) -> None:
    names = ("a", "b", "c", "d")
    config = config_from_dict(
        {
            "model": {"seed": 0},
            "log": {"enabled": False},
            "instrument": {
                n: {"model": str(moves_file), "mode": "filter", "listen_port": 0, "batch": True}
                for n in names
            },
        }
    )
    session = build_engine(config, FakeClock(), load_now)
    voices = [session.engine.instruments[n].runtime for n in names]
    assert len({id(v.model) for v in voices if v is not None}) == 1  # one copy of the weights
    for voice in voices:
        assert voice is not None
        voice.observe(np.array([0.05, 0.25, 0.5, 0.3]))
        assert _on_grid(voice.predict()[1:3])


def test_info_names_the_kind(moves_file: Path) -> None:
    shown = CliRunner().invoke(cli, ["info", str(moves_file), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["kind"] == "moves"
