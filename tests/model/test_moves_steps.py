"""Step inputs: a moves model whose network also reads each grid control's step since the
previous event (``MovesSpec.step_inputs``, ``foretell.model.moves.step_inputs``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from foretell.errors import ModelFileError
from foretell.model import moves
from foretell.model.control_kinds import CONTINUOUS, ControlKind
from foretell.model.fileformat import ModelFile, load_model, save_model
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import build_model
from foretell.model.transform import DataTransform
from tests.fixtures import trained_knob_box

KNOB = ControlKind("grid", origin=0.0, step=1 / 127, levels=128)
FINE = ControlKind("grid", origin=0.0, step=1 / 1023, levels=1024)  # a serial 0..1023
PAD = ControlKind("set", values=(0.0, 0.5, 1.0))
CONTROLS = (KNOB, PAD, CONTINUOUS, FINE)
TRANSFORM = DataTransform("log", 0.04, (-3.0, 0.5, 0.5, 0.5, 0.5), (1.0, 0.3, 0.4, 0.3, 0.3))


def _spec(steps: bool) -> MovesSpec:
    return MovesSpec(
        5, 1, 8, 2, TRANSFORM, sigma_min=1e-4, controls=CONTROLS, patterns=(0, 1, 2, 4),
        other_patterns=True, step_inputs=steps,
    )  # fmt: skip


def _model(tmp_path: Path, steps: bool) -> ModelFile:
    spec = _spec(steps)
    rng = np.random.default_rng(1)
    weights = {
        name: (0.3 * rng.standard_normal(shape)).astype(np.float32)
        for name, shape in spec.tensor_shapes().items()
    }
    return load_model(save_model(tmp_path / f"steps-{steps}.ftm", ModelFile(spec, weights)))


def _performance() -> np.ndarray:
    """Knob turns up and down (one cell, three, a jump across), the pad and the serial control
    changing now and then, the continuous control always."""
    knob = np.array([10, 11, 11, 14, 13, 127, 0, 0, 5]) / 127
    pad = np.array([0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.0, 0.0, 0.0])
    fine = np.array([500, 500, 499, 510, 510, 1023, 0, 3, 3]) / 1023
    smooth = np.linspace(0.2, 0.6, len(knob))
    return np.column_stack([np.full(len(knob), 0.05), knob, pad, smooth, fine])


def test_a_step_is_read_as_its_signed_log() -> None:
    steps = np.array([0, 1, -1, 3, -127, 1023])
    np.testing.assert_allclose(
        moves.step_inputs(steps),
        [0.0, math.log(2), -math.log(2), math.log(4), -math.log(128), math.log(1024)],
    )


def test_training_feeds_each_grid_controls_step_after_the_flags() -> None:
    """Inputs: the event (5), the moved flags of the knob, the pad and the serial control (3),
    then the knob's and the serial control's steps in cells (none in the first event)."""
    spec = _spec(True)
    inputs = moves.encode_inputs(spec, _performance())
    assert inputs.shape == (9, 5 + 3 + 2) and spec.input_dimension == 10
    np.testing.assert_array_equal(inputs[:, :8], moves.encode_inputs(_spec(False), _performance()))
    knob_cells = [0, 1, 0, 3, -1, 114, -127, 0, 5]
    fine_cells = [0, 0, -1, 11, 0, 513, -1023, 3, 0]
    np.testing.assert_allclose(inputs[:, 8], moves.step_inputs(np.array(knob_cells)), rtol=1e-6)
    np.testing.assert_allclose(inputs[:, 9], moves.step_inputs(np.array(fine_cells)), rtol=1e-6)


@pytest.mark.parametrize("steps", [False, True])
def test_a_voice_feeds_its_network_what_training_fed(tmp_path: Path, steps: bool) -> None:
    """Event by event, and again after a reset (a new performance: no step, every flag)."""
    model = build_model(_model(tmp_path, steps))
    voice = model.voice(np.random.default_rng(0))
    performance = _performance()
    expected = moves.encode_inputs(model.spec, performance)
    for _ in range(2):
        fed = []
        for event in performance:
            voice.observe(event)
            fed.append(voice._buffer[: expected.shape[1]].copy())
        np.testing.assert_array_equal(np.array(fed), expected)
        voice.reset()


def test_step_inputs_round_trip_and_old_files_have_none(tmp_path: Path) -> None:
    with_steps, without = _model(tmp_path, True), _model(tmp_path, False)
    assert isinstance(with_steps.spec, MovesSpec) and with_steps.spec.step_inputs
    assert with_steps.spec.to_dict()["step_inputs"] is True
    assert with_steps.weights["lstm.0.weight_ih"].shape == (4 * 8, 10)
    assert isinstance(without.spec, MovesSpec) and not without.spec.step_inputs
    assert "step_inputs" not in without.spec.to_dict()  # files as before
    assert without.weights["lstm.0.weight_ih"].shape == (4 * 8, 8)


@pytest.mark.parametrize(
    ("controls", "bad"),
    [(CONTROLS, "yes"), (CONTROLS, 1), ((PAD, CONTINUOUS, PAD, PAD), True)],  # no grid control
)
def test_bad_step_inputs_are_refused(controls: tuple[ControlKind, ...], bad: object) -> None:
    data = json.loads(json.dumps(_spec(False).to_dict()))
    data["controls"] = [kind.to_dict() for kind in controls]
    data["step_inputs"] = bad
    with pytest.raises(ModelFileError, match="step_inputs"):
        MovesSpec.from_dict(data)


def test_pick_reads_steps_only_where_the_player_moves_one_control_at_a_time() -> None:
    """The default: a knob box reads its knobs' steps; a fader, pads and controls moving
    together do not; ``on`` and ``off`` decide for any moves model, and a dense one has none."""
    from foretell.bench.instruments import fader, knobs, pads
    from foretell.model.control_kinds import detect_kinds
    from foretell.train.loop import reads_steps

    rng = np.random.default_rng(0)
    for performances, expected in (
        (knobs(rng, 2000, 4).performances, True),
        (fader(rng, 2000, 4).performances, False),
        (pads(rng, 2000, 4).performances, False),
    ):
        controls = detect_kinds(np.concatenate(performances))
        assert reads_steps("pick", performances, controls) is expected
        assert reads_steps("on", performances, controls) is True
        assert reads_steps("off", performances, controls) is False
    assert reads_steps("on", knobs(rng, 400, 2).performances, None) is False


@pytest.mark.parametrize(
    ("option", "expected"),
    [((), True), (("--step-inputs", "pick"), True), (("--step-inputs", "off"), False)],
)
def test_foretell_train_writes_step_inputs_on_a_knob_box(
    tmp_path: Path, option: tuple[str, ...], expected: bool
) -> None:
    pytest.importorskip("torch")
    out = trained_knob_box(tmp_path, *option)
    model = build_model(load_model(out))
    assert isinstance(model.spec, MovesSpec) and model.spec.step_inputs is expected
    voice = model.voice(np.random.default_rng(0))
    for event in (np.array([0.1, 20, 30, 40, 50]) / 127, np.array([0.1, 21, 30, 40, 50]) / 127):
        voice.observe(event)
    played = voice.predict()  # plays on the knobs' grid
    np.testing.assert_allclose(played[1:] * 127, np.round(played[1:] * 127), atol=1e-6)


def test_info_says_a_model_reads_its_steps(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from foretell.cli import cli

    for steps in (True, False):
        _model(tmp_path, steps)
        shown = CliRunner().invoke(cli, ["info", str(tmp_path / f"steps-{steps}.ftm")])
        assert shown.exit_code == 0, shown.output
        assert ("reads each grid control's step" in shown.output) is steps


def test_voices_share_their_models_step_table(tmp_path: Path) -> None:
    """A 10-bit grid's table holds 2047 values and a 14-bit one's 32767: made once per model,
    not once per voice (an ensemble or many batched voices)."""
    model = build_model(_model(tmp_path, True))
    first, second = model.voice(), model.voice()
    assert first._steps is second._steps is model.steps
    assert model.steps is not None and len(model.steps._table) == 2 * 1024 - 1
