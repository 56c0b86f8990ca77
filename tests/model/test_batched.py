"""The batched step equals individual steps, and shared runtimes share weights, not state."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from foretell.model.batched import predict_batch, shared_runtimes
from foretell.model.random import random_model
from foretell.model.runtime import Runtime


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("sigma", ["softplus", "elu1"])
def test_batched_step_matches_individual_steps(layers: int, sigma: str) -> None:
    from dataclasses import replace

    model = random_model(dimension=4, units=16, layers=layers)
    model = replace(model, spec=replace(model.spec, sigma_activation=sigma))
    n = 5
    batched = shared_runtimes(model, [np.random.default_rng(i) for i in range(n)])
    alone = [Runtime(model, np.random.default_rng(i)) for i in range(n)]
    rng = np.random.default_rng(9)
    for _ in range(20):
        events = [np.r_[rng.lognormal(np.log(0.02), 0.5), rng.random(3)] for _ in range(n)]
        predict_batch(batched, events)
        expected = [r.predict(e).copy() for r, e in zip(alone, events, strict=True)]
        for runtime, want, single in zip(batched, expected, alone, strict=True):
            np.testing.assert_allclose(runtime._raw, want, atol=1e-6, rtol=0)
            state, single_state = runtime.get_state(), single.get_state()
            np.testing.assert_allclose(state.hidden, single_state.hidden, atol=1e-6, rtol=0)
            np.testing.assert_allclose(state.cell, single_state.cell, atol=1e-6, rtol=0)


def _allocated(make: Callable[[], object]) -> int:
    """Bytes that what ``make`` builds holds on to (numpy's arrays included)."""
    tracemalloc.start()
    try:
        kept = make()
        size = tracemalloc.get_traced_memory()[0]
        del kept
        return size
    finally:
        tracemalloc.stop()


def test_shared_runtimes_share_weights_but_not_state() -> None:
    model = random_model(units=64)
    rngs = [np.random.default_rng(i) for i in range(8)]
    shared = _allocated(lambda: shared_runtimes(model, rngs))
    apart = _allocated(lambda: [Runtime(model, rng) for rng in rngs])
    assert shared < apart / 4  # one copy of the fused weights, not eight
    a, b = shared_runtimes(model, rngs[:2])
    a.predict(np.array([0.02, 0.9, 0.1, 0.5]))
    assert np.abs(a.get_state().hidden).sum() > 0
    assert np.abs(b.get_state().hidden).sum() == 0
    assert a.rng is not b.rng


def test_a_batch_of_one_is_a_plain_step() -> None:
    model = random_model()
    (one,) = shared_runtimes(model, [np.random.default_rng(0)])
    ref = Runtime(model, np.random.default_rng(0))
    event = np.array([0.03, 0.2, 0.4, 0.6])
    predict_batch([one], [event])
    np.testing.assert_allclose(one._raw, ref.predict(event), atol=1e-6)
