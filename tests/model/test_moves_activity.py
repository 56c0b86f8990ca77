"""The activity temperature of a moves model: it tempers which controls move (each mixture
component's distribution over moving sets) and nothing else."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.commands import parse_command
from foretell.dashboard.frames import Activity, expect_message, state_message
from foretell.model.generate import generate_performance
from foretell.model.moves import MovesVoice, tempered_moves
from foretell.model.protocol import load_voice
from tests.moves_files import moves_model_file
from tests.perform.helpers import instrument, play

BEFORE = np.array([0.1, 0.5, 0.5, 0.5])  # grid controls on the grid: a kept value is exact
DRAWS = 6000


@pytest.fixture
def voice(tmp_path: Path) -> MovesVoice:
    loaded = load_voice(moves_model_file(tmp_path / "m.ftm", seed=5), seed=1)
    assert isinstance(loaded, MovesVoice)
    loaded.observe(BEFORE)
    return loaded


def _moving_set(event: np.ndarray) -> int:
    """The pattern code of the grid controls that moved (bit c: control c)."""
    return sum(1 << c for c in (0, 1) if event[1 + c] != BEFORE[1 + c])


def _sets(voice: MovesVoice, activity: float, pi_temp: float = 1.0) -> Counter[int]:
    prediction = voice.prediction.copy()
    return Counter(
        _moving_set(voice.sample(prediction, pi_temp, 1.0, None, activity)) for _ in range(DRAWS)
    )


def _expected(voice: MovesVoice, activity: float) -> dict[int, float]:
    """p(set) = Σ_m p(m) p(set | m)^(1/T) / Σ_s p(s | m)^(1/T), from the model's joint."""
    layout = voice.layout
    joint = voice.prediction[layout.joint_start : voice.model.params].astype(np.float64)
    p = np.exp(joint - joint.max()).reshape(layout.mixtures, layout.slots)
    p /= p.sum()
    component = p.sum(1, keepdims=True)
    given = (p / component) ** (1.0 / activity)
    shares = (component * given / given.sum(1, keepdims=True)).sum(0)
    return {code: float(shares[slot]) for slot, code in enumerate(layout.patterns)}


def test_tempering_keeps_each_components_weight() -> None:
    joint = [0.3, -1.0, 2.0, 0.0, 1.5, 1.5, -2.0, 0.1]  # two components of four moving sets
    for activity in (0.0, 0.5, 1.0, 3.0):
        tempered = tempered_moves(joint, 4, activity)
        for m in (0, 4):
            kept = math.log(sum(math.exp(v) for v in joint[m : m + 4]))
            assert math.log(sum(math.exp(v) for v in tempered[m : m + 4])) == pytest.approx(kept)
    assert tempered_moves(joint, 4, 1.0) == pytest.approx(joint)
    coldest = tempered_moves(joint, 4, 0.0)
    kept = [i for i, v in enumerate(coldest) if v > -math.inf]
    assert kept == [2, 4]  # each component's likeliest set (the first of a tie)


def test_zero_plays_the_likeliest_moving_set(voice: MovesVoice) -> None:
    """At π- and activity temperature 0: the likeliest component's likeliest set, every time."""
    likeliest = sum(1 << c for c in _likeliest_set(voice))
    assert _sets(voice, 0.0, pi_temp=0.0) == Counter({likeliest: DRAWS})


@pytest.mark.parametrize("activity", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_the_moving_sets_follow_the_tempered_distribution(
    voice: MovesVoice, activity: float
) -> None:
    drawn = _sets(voice, activity)
    expected = _expected(voice, activity) if activity > 0 else None
    if expected is None:  # each component's likeliest set, drawn by the component's weight
        assert len(drawn) <= voice.layout.mixtures
        return
    for code, p in expected.items():
        tolerance = 4 * math.sqrt(p * (1 - p) / DRAWS) + 1e-3
        assert drawn[code] / DRAWS == pytest.approx(p, abs=tolerance), code


def test_more_activity_more_variety(voice: MovesVoice) -> None:
    def entropy(counts: Counter[int]) -> float:
        shares = np.array(list(counts.values())) / DRAWS
        return float(-(shares * np.log(shares)).sum())

    entropies = [entropy(_sets(voice, t)) for t in (0.0, 0.5, 1.0, 3.0)]
    assert entropies == sorted(entropies) and entropies[-1] - entropies[0] > 0.3


def _likeliest_set(voice: MovesVoice) -> tuple[int, ...]:
    """The grid controls that the likeliest component's likeliest moving set moves."""
    layout = voice.layout
    joint = voice.prediction[layout.joint_start : voice.model.params].astype(np.float64)
    joint = joint.reshape(layout.mixtures, layout.slots)
    component = int(np.argmax(np.log(np.exp(joint - joint.max()).sum(1))))
    code = layout.patterns[int(np.argmax(joint[component]))]
    return tuple(c for c in (0, 1) if code >> c & 1)


def test_the_live_setting_reaches_the_sampler(tmp_path: Path) -> None:
    """``activitytemp 0`` through the instrument's command path: every answer moves the
    likeliest set of the prediction it was drawn from."""
    inst, clock, _ = instrument("filter", pi_temp=0.0)
    voice = load_voice(moves_model_file(tmp_path / "m.ftm"), seed=2)
    assert isinstance(voice, MovesVoice) and inst.swap_runtime(voice)
    inst.on_command(parse_command("activitytemp", [0.0]))
    assert inst.settings.activity_temp == 0.0
    checked: list[bool] = []
    inst.listeners = [
        lambda _, e: (
            e.source == "model"
            and checked.append(tuple(c for c in e.moved or () if c < 2) == _likeliest_set(voice))
        )
    ]
    play(inst, clock, 30)
    assert len(checked) == 30 and all(checked)
    moves = expect_message(voice.model, inst.snapshot(), None)["expect"]["moves"]
    assert tuple(c for c in (0, 1) if moves[c] == 1.0) == _likeliest_set(voice)
    assert set(moves) <= {0.0, 1.0}  # the dashboard's expectation is the setting's too
    state = state_message(inst.snapshot(), voice.model, Activity.create())["state"]
    assert state["activity_temp"] == 0.0


@pytest.mark.parametrize("activity", [0.5, 1.0, 3.0])
def test_the_expected_moves_follow_the_activity(voice: MovesVoice, activity: float) -> None:
    """The dashboard's per-control chance of moving is the tempered distribution's."""
    shares = _expected(voice, activity)
    body = voice.model.expected(voice.prediction, 1.0, 1.0, activity)
    for c in (0, 1):
        assert body["moves"][c] == pytest.approx(
            sum(p for code, p in shares.items() if code >> c & 1), abs=1e-9
        )
    assert body["moves"][2] == 1.0  # a continuous control moves at every event
    coldest = voice.model.expected(voice.prediction, 0.0, 1.0, 0.0)["moves"]
    assert tuple(c for c in (0, 1) if coldest[c] == 1.0) == _likeliest_set(voice)


def test_generate_takes_the_activity_temperature(tmp_path: Path) -> None:
    """``foretell generate --activity-temp`` plays what the sampler plays at that activity."""
    model = moves_model_file(tmp_path / "m.ftm")
    written = {}
    for activity in ("1", "4"):
        out = tmp_path / f"g{activity}.csv"
        command = ["generate", str(model), "--steps", "200", "--seed", "3", "--out", str(out)]
        result = CliRunner().invoke(cli, [*command, "--activity-temp", activity])
        assert result.exit_code == 0, result.output
        written[activity] = np.loadtxt(out, delimiter=",", skiprows=1)
    direct = generate_performance(load_voice(model, seed=3), 200, activity_temp=4.0)
    assert np.allclose(written["4"], direct, rtol=1e-5, atol=1e-6)
    assert not np.allclose(written["1"], written["4"])
