"""Training feeds a moves model's moved flags centred; the saved file reads raw flags."""

from __future__ import annotations

import numpy as np
import pytest

from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.moves_spec import MovesSpec
from foretell.model.protocol import build_model
from foretell.model.transform import DataTransform
from foretell.train.batches import Segments

torch = pytest.importorskip("torch")
from foretell.model.torch_mdrnn import MDRNN  # noqa: E402
from foretell.train.moved_flags import FlagShift  # noqa: E402

TRANSFORM = DataTransform("log", 0.04, (-2.0, 0.5, 0.5), (1.0, 0.3, 0.3))
CONTROLS = (
    ControlKind("set", values=tuple(i / 7 for i in range(8))),
    ControlKind("grid", origin=0.0, step=1 / 127, levels=128),
)


def _spec(steps: bool = False) -> MovesSpec:
    return MovesSpec(
        3, 2, 16, 3, TRANSFORM, controls=CONTROLS, patterns=(3, 2, 1, 0), step_inputs=steps
    )


def _pads(seed: int, n: int) -> np.ndarray:
    """Drum hits: the pad changes in most events, the velocity in almost all."""
    rng = np.random.default_rng(seed)
    pad = rng.integers(0, 8, n) / 7
    velocity = np.round(rng.uniform(0.15, 1.0, n) * 127) / 127
    return np.column_stack([rng.choice([0.12, 0.25, 0.5], n), pad, velocity])


@pytest.mark.parametrize("steps", [False, True])
def test_each_flag_is_centred_on_the_training_split_and_nothing_else_changes(
    steps: bool,
) -> None:
    """The flags (columns 3 and 4) are centred; the event and the velocity's step are not."""
    spec = _spec(steps)
    train = Segments.build([_pads(0, 300), _pads(1, 200)], TRANSFORM, spec)
    shift = FlagShift.fit(spec, train)
    assert shift is not None and shift.first == 3 and len(shift.loc) == 2
    assert 0.8 < shift.loc[0] < 0.95 and shift.loc[1] > 0.95  # most events move both
    shifted = shift.apply(train)
    assert shifted.z.shape[1] == (6 if steps else 5)
    np.testing.assert_allclose(shifted.z[:, 3:5].mean(0), 0.0, atol=1e-6)
    np.testing.assert_array_equal(shifted.z[:, :3], train.z[:, :3])
    np.testing.assert_array_equal(shifted.z[:, 5:], train.z[:, 5:])
    assert shifted.y is train.y and train.z[:, 3:5].min() == 0.0  # targets kept, input not touched


def test_a_flag_that_is_0_in_most_events_is_left_as_it_is() -> None:
    """A pad hit again and again (it changes in one event of five) keeps its raw flag; the
    velocity's, 1 in most events, is centred."""
    spec = _spec()
    performance = _pads(0, 400)
    rng = np.random.default_rng(5)
    for i in range(1, len(performance)):  # the pad changes in about one event of five
        if rng.uniform() > 0.2:
            performance[i, 1] = performance[i - 1, 1]
    train = Segments.build([performance], TRANSFORM, spec)
    shift = FlagShift.fit(spec, train)
    assert shift is not None
    assert 0.1 < train.z[:, 3].mean() < 0.3 and shift.loc[0] == 0.0
    assert shift.loc[1] == pytest.approx(train.z[:, 4].mean())
    np.testing.assert_array_equal(shift.apply(train).z[:, 3], train.z[:, 3])


def test_a_dense_model_has_no_flags_to_shift() -> None:
    dense = ModelSpec(3, 1, 8, 2, TRANSFORM)
    assert FlagShift.fit(dense, Segments.build([_pads(0, 50)], TRANSFORM, dense)) is None


@pytest.mark.parametrize("steps", [False, True])
def test_the_saved_file_reading_raw_flags_plays_what_training_computed(steps: bool) -> None:
    """The network run by torch on shifted flags and the NumPy runtime on the file's folded
    weights (raw flags, as every moves file reads them) give the same predictions."""
    spec = _spec(steps)
    torch.manual_seed(3)
    net = MDRNN(spec)
    performance = _pads(2, 60)
    train = Segments.build([_pads(0, 300), performance], TRANSFORM, spec)
    shift = FlagShift.fit(spec, train)
    assert shift is not None
    inputs = shift.apply(Segments.build([performance], TRANSFORM, spec)).z
    with torch.no_grad():
        hidden, _ = net.lstm(torch.from_numpy(inputs)[None])
        trained = net.mixture_params(hidden[0], torch.from_numpy(inputs)).numpy()  # (n, P)
    unfolded = ModelFile(spec, net.to_weights(), {})
    folded = ModelFile(spec, shift.fold(net.to_weights()), {})
    for file, same in ((folded, True), (unfolded, False)):
        voice = build_model(file).voice()
        played = np.stack(
            [voice.observe(event)[: spec.head_params].copy() for event in performance]
        )
        assert np.allclose(played, trained, atol=1e-4) == same
