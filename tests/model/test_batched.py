"""One step for any number of voices: a model's voices stepped together equal each stepped alone,
and voices of one model share its (read-only) weights, never their state."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from foretell.model.random import random_model
from foretell.model.runtime import MIN_BATCH, DenseModel, LSTMState


def _events(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    return [np.r_[rng.lognormal(np.log(0.02), 0.5), rng.random(3)] for _ in range(n)]


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("sigma", ["softplus", "elu1"])
@pytest.mark.parametrize("n", [2, MIN_BATCH, 7])
def test_a_step_of_n_voices_matches_each_voice_alone(layers: int, sigma: str, n: int) -> None:
    file = random_model(dimension=4, units=16, layers=layers)
    file = replace(file, spec=replace(file.spec, sigma_activation=sigma))
    together, alone = DenseModel(file), DenseModel(file)
    voices = [together.voice(np.random.default_rng(i)) for i in range(n)]
    singles = [alone.voice(np.random.default_rng(i)) for i in range(n)]
    rng = np.random.default_rng(9)
    for _ in range(20):
        events = _events(rng, n)
        together.step(voices, events)
        expected = [v.observe(e).copy() for v, e in zip(singles, events, strict=True)]
        for voice, want, single in zip(voices, expected, singles, strict=True):
            np.testing.assert_allclose(voice.prediction, want, atol=1e-6, rtol=0)
            state, single_state = voice.get_state(), single.get_state()
            np.testing.assert_allclose(state.hidden, single_state.hidden, atol=1e-6, rtol=0)
            np.testing.assert_allclose(state.cell, single_state.cell, atol=1e-6, rtol=0)


def test_voices_share_the_models_weights_but_not_state() -> None:
    model = DenseModel(random_model())
    a, b = model.voice(np.random.default_rng(0)), model.voice(np.random.default_rng(1))
    a.observe(np.array([0.02, 0.9, 0.1, 0.5]))
    assert a.model is b.model
    assert np.abs(a.get_state().hidden).sum() > 0
    assert np.abs(b.get_state().hidden).sum() == 0
    with pytest.raises(ValueError):
        model.layers[0][0][0, 0] = 1.0  # the weights are read-only: no voice can change them


def test_a_step_of_one_is_a_plain_observe() -> None:
    model = DenseModel(random_model())
    (one,), ref = [model.voice(np.random.default_rng(0))], model.voice(np.random.default_rng(0))
    event = np.array([0.03, 0.2, 0.4, 0.6])
    model.step([one], [event])
    np.testing.assert_array_equal(one.prediction, ref.observe(event))


def test_a_step_refuses_a_voice_of_another_model() -> None:
    file = random_model()
    model, other = DenseModel(file), DenseModel(file)
    voices = [model.voice() for _ in range(MIN_BATCH - 1)] + [other.voice()]
    with pytest.raises(ValueError, match="voices of this model"):
        model.step(voices, [np.array([0.03, 0.2, 0.4, 0.6])] * MIN_BATCH)


def test_state_moves_between_voices_of_models_of_one_shape() -> None:
    a = DenseModel(random_model(seed=1)).voice()
    b = DenseModel(random_model(seed=2)).voice()
    assert a.model.carries_state(b.model) and b.model.reads_prediction(a.model)
    a.observe(np.array([0.03, 0.2, 0.4, 0.6]))
    b.set_state(a.get_state())
    state = b.get_state()
    assert isinstance(state, LSTMState)
    np.testing.assert_array_equal(state.hidden, a.get_state().hidden)
    other = DenseModel(random_model(units=8)).voice()
    assert not a.model.carries_state(other.model)
    with pytest.raises(TypeError):
        b.set_state("not a state")
