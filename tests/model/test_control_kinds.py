"""Control kinds detected from data, which controls move, and the moves model's file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.bench.instruments import INSTRUMENTS
from foretell.errors import ModelFileError
from foretell.model.control_kinds import (
    ControlKind,
    apply_overrides,
    cell_indices,
    choose_controls,
    detect_kind,
    detect_kinds,
    flat_ranges,
    moved,
    parse_kind_overrides,
    pattern_vocabulary,
)
from foretell.model.fileformat import ModelFile, ModelSpec, load_model, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.transform import DataTransform
from tests.fixtures import bundled_performances


def _events(name: str) -> np.ndarray:
    return np.concatenate(INSTRUMENTS[name].dataset(0, 0.05).performances)


def test_midi_knobs_are_a_128_step_grid() -> None:
    kinds = detect_kinds(_events("knobs"))
    assert [k.kind for k in kinds] == ["grid"] * 4
    assert kinds[0].step == pytest.approx(1 / 127, abs=1e-12)
    assert kinds[0].levels == 128 and kinds[0].origin == 0.0


@pytest.mark.parametrize("lowest", [1, 5, 40, 90])
def test_a_grid_through_0_never_seen_at_0_starts_at_0_and_its_file_loads(
    tmp_path: Path, lowest: int
) -> None:
    """Float32 MIDI values whose lowest is ``lowest``/127, which float32 rounds up by a few
    1e-9 at some ``lowest``: the grid's origin was that rounding, its top level above 1, and the
    model file training wrote would not load."""
    column = (np.arange(lowest, 128) / 127).astype(np.float32)
    kind = detect_kind(column)
    assert kind.kind == "grid" and kind.origin == 0.0 and kind.levels == 128
    spec = MovesSpec(2, 1, 4, 1, DataTransform("log", 0.04, (-3.0, 0.5), (1.0, 0.3)),
                     controls=(kind,), patterns=(0, 1))  # fmt: skip
    weights = {name: np.zeros(shape, np.float32) for name, shape in spec.tensor_shapes().items()}
    path = save_model(tmp_path / "knob.ftm", ModelFile(spec, weights))
    assert load_model(path).spec == spec


def test_a_file_whose_grid_tops_out_a_rounding_above_1_loads() -> None:
    """What training wrote before the origin was snapped (an origin of 3.5e-9) still loads."""
    data = {"kind": "grid", "origin": 3.4612933491606768e-09, "step": 1 / 127, "levels": 128}
    kind = ControlKind.from_dict(data, "x1")
    assert kind.levels == 128
    assert kind.cell_values().max() == 1.0  # a model plays no value above 1
    with pytest.raises(ModelFileError, match="a grid needs"):
        ControlKind.from_dict({**data, "levels": 129}, "x1")  # a whole level above 1


def test_pads_are_a_set_and_velocities_a_grid() -> None:
    pad, velocity = detect_kinds(_events("pads"))
    assert pad.kind == "set" and pad.cells == 8
    np.testing.assert_allclose(pad.values, np.arange(8) / 7, atol=1e-6)
    assert velocity.kind == "grid" and velocity.levels == 128


def test_noisy_sensors_are_continuous() -> None:
    assert {k.kind for k in detect_kinds(_events("sensors"))} == {"continuous"}
    assert detect_kind(np.random.default_rng(0).uniform(size=500)).kind == "continuous"


def test_lightpad_positions_are_a_grid_of_128_steps() -> None:
    kinds = detect_kinds(np.concatenate(bundled_performances(limit=2000)))
    assert all(k.kind == "grid" and k.step == pytest.approx(1 / 128) for k in kinds)


def test_cells_reach_to_infinity_and_split_at_midpoints() -> None:
    kind = ControlKind("set", values=(0.0, 0.5, 0.6))
    assert kind.cell_of(np.array([-5.0, 0.24, 0.26, 0.56, 0.9, 7.0])).tolist() == [0, 0, 1, 2, 2, 2]
    grid = ControlKind("grid", origin=0.0, step=0.25, levels=5)
    assert grid.cell_of(np.array([0.0, 0.12, 0.13, 1.0])).tolist() == [0, 0, 1, 4]


def test_a_control_moves_when_its_cell_changes_and_all_move_first() -> None:
    kinds = (
        ControlKind("grid", origin=0.0, step=0.25, levels=5),
        ControlKind("set", values=(0.0, 1.0)),
    )
    performance = np.array([[0.1, 0.5, 0.0], [0.1, 0.5, 1.0], [0.1, 0.75, 1.0], [0.1, 0.75, 1.0]])
    flags = moved(cell_indices(performance, kinds))
    assert flags.tolist() == [[True, True], [False, True], [True, False], [False, False]]


def test_knobs_move_one_at_a_time_and_the_vocabulary_names_those_sets() -> None:
    performances = INSTRUMENTS["knobs"].dataset(0, 0.05).performances
    kinds = detect_kinds(np.concatenate(performances))
    counts = np.concatenate([moved(cell_indices(p, kinds))[1:].sum(1) for p in performances])
    assert counts.max() == 1 and 0.5 < counts.mean() < 0.9
    patterns, truncated = pattern_vocabulary(performances, kinds)
    assert set(patterns) == {0, 1, 2, 4, 8} and not truncated
    assert pattern_vocabulary(performances, kinds, cap=3) == (patterns[:3], True)


def test_choose_controls_keeps_the_dense_model_for_continuous_data_and_when_asked() -> None:
    sensors = INSTRUMENTS["sensors"].dataset(0, 0.02).performances
    assert choose_controls(sensors) == (None, (), False)
    knobs = INSTRUMENTS["knobs"].dataset(0, 0.05).performances
    assert choose_controls(knobs, "dense") == (None, (), False)
    kinds, patterns, _ = choose_controls(knobs, "x2=continuous")
    assert kinds is not None and [k.kind for k in kinds] == ["grid", "continuous", "grid", "grid"]
    assert 0 in patterns


def test_overrides_are_checked() -> None:
    assert parse_kind_overrides("x1=set, 3=continuous", 3) == {0: "set", 2: "continuous"}
    assert parse_kind_overrides("all=continuous", 2) == {0: "continuous", 1: "continuous"}
    with pytest.raises(ValueError, match="unknown control kind 'knob'"):
        parse_kind_overrides("x1=knob", 3)
    with pytest.raises(ValueError, match="x1..x3"):
        parse_kind_overrides("x4=set", 3)
    events = _events("knobs")
    with pytest.raises(ValueError, match="a set holds 16"):
        apply_overrides(detect_kinds(events), {0: "set"}, events)
    noisy = np.column_stack([np.full(300, 0.1), np.random.default_rng(1).uniform(size=300)])
    with pytest.raises(ValueError, match="regular grid"):
        apply_overrides(detect_kinds(noisy), {0: "grid"}, noisy)


def _moves_spec(flat: tuple[tuple[int, int], ...] = ()) -> MovesSpec:
    transform = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5), (1.0, 0.3, 0.3, 0.3))
    controls = (
        ControlKind("grid", origin=0.0, step=1 / 127, levels=128),
        ControlKind("set", values=(0.0, 0.5, 1.0)),
        ControlKind("continuous"),
    )
    return MovesSpec(
        4, 1, 8, 3, transform, controls=controls, patterns=(0, 1, 2), other_patterns=True,
        flat_ranges=flat,
    )  # fmt: skip


@pytest.mark.parametrize("flat", [(), ((20, 127),)])
def test_a_moves_model_file_round_trips(tmp_path: Path, flat: tuple[tuple[int, int], ...]) -> None:
    spec = _moves_spec(flat)
    rng = np.random.default_rng(0)
    weights = {
        n: rng.standard_normal(s).astype(np.float32) for n, s in spec.tensor_shapes().items()
    }
    assert spec.tensor_shapes()["lstm.0.weight_ih"] == (32, 4 + 2)  # the event and 2 moved flags
    head = 2 * 3 * 3 + 3 * 3 + 3 * 4 + (3 if flat else 0)  # mu, spread, set, joint, flat shares
    assert spec.tensor_shapes()["head.bias"] == (head,)
    loaded = load_model(save_model(tmp_path / "m.ftm", ModelFile(spec, weights)))
    assert loaded.spec == spec
    assert ("flat_ranges" in spec.to_dict()) == bool(flat)  # files without: as before


def test_flat_ranges_span_each_grid_controls_cells_seen() -> None:
    controls = (
        ControlKind("set", values=(0.0, 1.0)),
        ControlKind("grid", origin=0.0, step=0.25, levels=5),
    )
    performances = [np.array([[0.1, 0.0, 0.25], [0.1, 1.0, 0.5]]), np.array([[0.1, 0.0, 0.75]])]
    assert flat_ranges(performances, controls) == ((1, 3),)


def test_a_dense_spec_writes_what_it_always_wrote() -> None:
    spec = ModelSpec(3, 2, 8, 5, DataTransform("log", 0.04, (0.0,) * 3, (1.0,) * 3))
    assert "controls" not in spec.to_dict() and "patterns" not in spec.to_dict()
    assert type(ModelSpec.from_dict(spec.to_dict())) is ModelSpec and spec.kind == "dense"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"controls": [{"kind": "grid"}] * 3}, "a grid needs origin, step and levels"),
        ({"controls": [{"kind": "knob"}] * 3}, "must be an object with a kind"),
        ({"controls": [{"kind": "continuous"}]}, "one control kind per control"),
        ({"patterns": [0, 99]}, "distinct moving sets below 4"),
        ({"patterns": []}, "distinct moving sets"),
        ({"other_patterns": 1}, "other_patterns, true or false"),
        ({"flat_ranges": [[0, 128]]}, "one \\[first, last\\] cell per grid control"),
        ({"flat_ranges": [[5, 4]]}, "flat_ranges"),
        ({"flat_ranges": [[0, 1], [0, 1]]}, "flat_ranges"),
        ({"flat_ranges": "all"}, "flat_ranges"),
    ],
)
def test_a_bad_moves_architecture_is_one_line(change: dict, message: str) -> None:  # type: ignore[type-arg]
    data = {**_moves_spec().to_dict(), **change}
    with pytest.raises(ModelFileError, match=message):
        MovesSpec.from_dict(data)
