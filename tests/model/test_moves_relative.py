"""Relative grid centres: a moves model whose grid logistics are centred on each control's
previous value plus the head's output (``MovesSpec.relative_grids``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from foretell.errors import ModelFileError
from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile, load_model, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import build_model
from foretell.model.transform import DataTransform
from tests.fixtures import trained_knob_box

KNOB = ControlKind("grid", origin=0.0, step=1 / 127, levels=128)
TRANSFORM = DataTransform("log", 0.04, (-3.0, 0.5, 0.5), (1.0, 0.3, 0.3))
NET_STEP = (1 / 127) / 0.3  # one cell in the network space


def _spec(relative: bool, gated: bool = False) -> MovesSpec:
    return MovesSpec(
        3, 1, 8, 2, TRANSFORM, sigma_min=1e-4, controls=(KNOB, KNOB), patterns=(1, 2),
        relative_grids=(0, 1) if relative else (), relative_gated=gated,
    )  # fmt: skip


def _still_model(tmp_path: Path, relative: bool, gated: bool = False) -> ModelFile:
    """A model whose head ignores the LSTM: the first knob moves in every event, its logistic
    at output 0 with a scale of a third of a cell."""
    spec = _spec(relative, gated)
    layout = spec.layout
    assert layout is not None
    weights = {name: np.zeros(shape, np.float32) for name, shape in spec.tensor_shapes().items()}
    k, g = layout.mixtures, layout.gaussians
    bias = weights["head.bias"]
    scale = NET_STEP / 3 - spec.sigma_min
    bias[k * g : 2 * k * g] = math.log(math.expm1(scale))  # softplus inverted
    bias[layout.joint_start : layout.flat_start] = np.tile([8.0, -8.0], k)  # slot 0: knob 1
    path = save_model(tmp_path / f"relative-{relative}-{gated}.ftm", ModelFile(spec, weights))
    return load_model(path)


def test_relative_grids_round_trip_through_a_model_file(tmp_path: Path) -> None:
    for relative in (False, True):
        model = _still_model(tmp_path, relative)
        assert isinstance(model.spec, MovesSpec)
        assert model.spec.relative_grids == ((0, 1) if relative else ())
        assert ("relative_grids" in model.spec.to_dict()) is relative  # old files unchanged


def test_relative_gated_round_trips_and_old_files_are_not_gated(tmp_path: Path) -> None:
    gated = _still_model(tmp_path, True, gated=True)
    assert isinstance(gated.spec, MovesSpec) and gated.spec.relative_gated
    assert gated.spec.to_dict()["relative_gated"] is True
    plain = _still_model(tmp_path, True)
    assert isinstance(plain.spec, MovesSpec) and not plain.spec.relative_gated
    assert "relative_gated" not in plain.spec.to_dict()  # files as before


@pytest.mark.parametrize(
    ("field", "relative", "bad"),
    [
        ("relative_gated", True, "yes"),  # not true
        ("relative_gated", True, 1),
        ("relative_gated", False, True),  # without relative grids
        *(("relative_grids", True, bad) for bad in ["yes", True, [2], [1, 0], [0, 0], [0.0]]),
    ],
)
def test_bad_relative_centres_are_refused(field: str, relative: bool, bad: object) -> None:
    """``relative_gated`` only true and with relative grids; ``relative_grids`` distinct grid
    controls' indices, ascending."""
    data = json.loads(json.dumps(_spec(relative).to_dict()))
    data[field] = bad
    with pytest.raises(ModelFileError, match=field):
        MovesSpec.from_dict(data)


def test_a_gated_centre_is_relative_only_where_the_knob_did_not_just_move(
    tmp_path: Path,
) -> None:
    """After an event where the first knob kept its value it steps one cell from there; after
    one where it moved, its centre is the network's 0 (the data's mean, cell 64)."""
    model = build_model(_still_model(tmp_path, True, gated=True))
    voice = model.voice(np.random.default_rng(0))
    start = np.array([0.1, 20 / 127, 90 / 127])
    after_still, after_move = [], []
    for _ in range(200):
        voice.reset()
        voice.observe(start)  # a performance's first event: every control moved
        moved = voice.predict()
        after_move.append(round(moved[1] * 127))
        voice.reset()
        voice.observe(start)
        voice.observe(np.array([0.1, 20 / 127, 91 / 127]))  # only the second knob moved
        still = voice.predict()
        after_still.append(round(still[1] * 127) - 20)
    assert np.mean(np.abs(after_still) == 1) > 0.85
    assert np.mean(np.abs(np.array(after_move) - 64) <= 1) > 0.85


def test_relative_centres_follow_the_previous_value_and_samples_stay_on_the_grid(
    tmp_path: Path,
) -> None:
    """Where the head outputs 0, a relative model's knob steps one cell from wherever it is;
    an absolute one's goes back to the network's 0 (the data's mean, cell 64)."""
    for relative in (True, False):
        voice = build_model(_still_model(tmp_path, relative)).voice(np.random.default_rng(0))
        event = np.array([0.1, 20 / 127, 90 / 127], np.float32).astype(np.float64)
        steps = []
        for _ in range(200):
            voice.observe(event)
            new = voice.predict()
            cells = new[1:] * 127
            np.testing.assert_allclose(cells, np.round(cells), atol=1e-4)  # on the grid
            assert new[2] == event[2]  # the second knob never moves
            steps.append(round(cells[0]) - round(event[1] * 127))
            event = new
        if relative:
            # the previous cell is left out: mostly one cell either way (94 % by the logistic)
            assert 0 not in steps and max(map(abs, steps)) <= 5
            assert np.mean(np.abs(steps) == 1) > 0.85
        else:
            assert abs(round(event[1] * 127) - 64) <= 1  # pulled to the mean and kept there


def test_a_relative_model_scores_one_cell_steps_as_it_plays_them(tmp_path: Path) -> None:
    """The likelihood reads the same centres: a one-cell step from anywhere is likely."""
    model = build_model(_still_model(tmp_path, True))
    voice = model.voice(np.random.default_rng(0))
    before = np.array([0.1, 20 / 127, 90 / 127])
    prediction = voice.observe(before).copy()
    near, far = before.copy(), before.copy()
    near[1], far[1] = 21 / 127, 64 / 127
    near[0] = far[0] = float(np.exp(-3.0) - 0.04)  # dt at its mean
    scores = model.log_likelihood(np.stack([prediction, prediction]), np.stack([near, far]))
    assert scores[0] > math.log(0.4) - 3.0  # about half the knob's mass, dt's density aside
    assert scores[1] < scores[0] - 15.0  # the far cell only by the floor


@pytest.mark.parametrize(
    ("option", "relative"),
    [
        ((), None),  # pick: a knob box plays one knob at a time, so gated
        (("--grid-centres", "pick"), None),
        (("--grid-centres", "absolute"), ()),
        (("--grid-centres", "relative"), None),  # every grid control
        (("--grid-centres", "auto"), None),  # knobs turned: small steps
        (("--grid-centres", "gated"), None),  # as auto, where a knob did not just move
    ],
)
def test_foretell_train_writes_relative_grids_when_asked(
    tmp_path: Path, option: tuple[str, ...], relative: tuple[int, ...] | None
) -> None:
    pytest.importorskip("torch")
    out = trained_knob_box(tmp_path, *option)
    spec = load_model(out).spec
    assert isinstance(spec, MovesSpec)
    grids = tuple(i for i, kind in enumerate(spec.controls) if kind.kind == "grid")
    assert grids and spec.relative_grids == (grids if relative is None else relative)
    assert spec.relative_gated is (option in ((), ("--grid-centres", "pick")) or "gated" in option)


def test_auto_centres_relative_only_the_grid_controls_that_move_in_small_steps() -> None:
    """Knobs turned step by step are relative; a drum's velocity, which jumps, is not."""
    from foretell.bench.instruments import knobs, pads
    from foretell.model.control_kinds import detect_kinds, small_step_grids

    for dataset, expected in (
        (knobs(np.random.default_rng(0), 2000, 4), (0, 1, 2, 3)),
        (pads(np.random.default_rng(0), 2000, 4), ()),  # x1 the pad (a set), x2 velocity
    ):
        performances = list(dataset.performances)
        kinds = detect_kinds(np.concatenate(performances))
        assert small_step_grids(performances, kinds) == expected


def test_pick_gates_the_centres_only_where_the_player_moves_one_control_at_a_time() -> None:
    """The default: a knob box (one knob at a time) gets gated centres on its small-step grids;
    a fader (one control), pads (pad with velocity) and controls moving together stay absolute."""
    from foretell.bench.instruments import fader, knobs, pads
    from foretell.model.control_kinds import detect_kinds
    from foretell.train.loop import grid_centring

    rng = np.random.default_rng(0)
    together = [
        np.column_stack([np.full(300, 0.05), *(np.cumsum(np.ones((3, 300)), axis=1) / 400)])
    ]
    for performances, expected in (
        (knobs(rng, 2000, 4).performances, ((0, 1, 2, 3), True)),
        (fader(rng, 2000, 4).performances, ((), False)),
        (pads(rng, 2000, 4).performances, ((), False)),
        (tuple(np.round(p * 127) / 127 for p in together), ((), False)),
    ):
        controls = detect_kinds(np.concatenate(performances))
        assert grid_centring("pick", performances, controls) == expected
    assert grid_centring("pick", knobs(rng, 400, 2).performances, None) == ((), False)


def test_one_at_a_time_counts_the_events_that_move_a_control() -> None:
    """Events that move nothing are left out, a performance's first row too; 80 % of the moving
    events must move exactly one control."""
    from foretell.model.control_kinds import CONTINUOUS, plays_one_at_a_time

    def performance(moving: list[int]) -> np.ndarray:
        values = np.zeros(3)
        rows = [np.r_[0.1, values]]  # a first row: every control "moves" there, not counted
        for count in moving:
            values = values.copy()
            values[:count] += 0.01
            rows.append(np.r_[0.1, values])
        return np.array(rows)

    controls = (CONTINUOUS,) * 3
    assert plays_one_at_a_time([performance([1] * 8 + [0] * 30 + [2, 3])], controls)
    assert not plays_one_at_a_time([performance([1] * 7 + [0] * 30 + [2, 3, 2])], controls)
    assert not plays_one_at_a_time([performance([1] * 8)], controls[:1])  # one control
    assert not plays_one_at_a_time([performance([0] * 8)], controls)  # nothing moves


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("rows", [(), (5,)])
def test_centring_on_slices_adds_what_indexing_adds(
    tmp_path: Path, gated: bool, rows: tuple[int, ...]
) -> None:
    """The runtime centres a run of grid controls through slices of the head's output; the
    sums are the indexed ones, bit for bit, for one voice and for voices stepped together."""
    model = build_model(_still_model(tmp_path, relative=True, gated=gated))
    assert model.blocks is not None  # type: ignore[attr-defined]
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((*rows, model.params)).astype(np.float32)  # type: ignore[attr-defined]
    inputs = rng.standard_normal((*rows, 3 + 2)).astype(np.float32)
    inputs[..., 3:] = rng.integers(0, 2, (*rows, 2))  # moved flags
    sliced, indexed = raw.copy(), raw.copy()
    model.centre_grids(sliced, inputs)  # type: ignore[attr-defined]
    model.blocks = None  # type: ignore[attr-defined]
    model.centre_grids(indexed, inputs)  # type: ignore[attr-defined]
    assert not np.array_equal(indexed, raw)
    assert np.array_equal(sliced, indexed)


@pytest.mark.parametrize("gated", [False, True])
def test_a_voice_centres_on_its_views_as_indexing_does(tmp_path: Path, gated: bool) -> None:
    """A voice's centring on views made once gives the indexed centring's predictions, bit for
    bit, event after event (knobs moving and resting)."""
    file = _still_model(tmp_path, relative=True, gated=gated)
    on_views = build_model(file).voice(np.random.default_rng(0))
    model = build_model(file)
    model.blocks = None  # type: ignore[attr-defined]
    indexed = model.voice(np.random.default_rng(0))
    assert on_views._centring is not None and indexed._centring is None  # type: ignore[attr-defined]
    events = [
        (0.1, 0.5, 0.5),
        (0.1, 0.51, 0.5),
        (0.1, 0.51, 0.5),
        (0.1, 0.51, 0.3),
        (0.2, 0.9, 0.1),
    ]
    for event in map(np.array, events):
        assert np.array_equal(on_views.observe(event), indexed.observe(event))


def test_info_says_how_the_grid_centres_are_placed(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from foretell.cli import cli

    shown = {
        name: CliRunner().invoke(cli, ["info", str(tmp_path / f"relative-{r}-{g}.ftm")]).output
        for name, r, g in (("absolute", False, False), ("relative", True, False),
                           ("gated", True, True))
        if _still_model(tmp_path, r, g)
    }  # fmt: skip
    assert "grid centres" not in shown["absolute"]
    assert "; grid centres relative\n" in shown["relative"]
    assert "grid centres relative where the control did not just move" in shown["gated"]
