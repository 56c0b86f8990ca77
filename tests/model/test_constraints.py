"""Constraints on the mixture, as property tests over many random mixtures (fixed seeds).

Bounds are honoured exactly, held values are exact, and the constrained samples follow the
closed form: the truncated mixture (checked against rejection sampling from the unconstrained
one) and the conditional mixture (checked against direct draws from its closed form), by
two-sample Kolmogorov-Smirnov tests. The constrained density integrates to one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from foretell.model import constraints as steering
from foretell.model.constraints import Constraints
from foretell.model.fileformat import ModelSpec
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel
from foretell.model.transform import DataTransform

K, D = 4, 3  # components; dimensions (dt and two controls)
N = 3000  # samples per test
KS_LIMIT = 1.95 * math.sqrt(2 / N)  # two-sample KS critical value at alpha = 0.001


def _spec(dt_kind: str = "linear") -> ModelSpec:
    """Identity transform: the network space is the data space (dt kind linear)."""
    transform = DataTransform(dt_kind, 0.0 if dt_kind == "linear" else 0.04, (0.0,) * D, (1.0,) * D)  # type: ignore[arg-type]
    return ModelSpec(D, 1, 4, K, transform)


def _mixture(rng: np.random.Generator) -> np.ndarray:
    mu = rng.uniform(0.1, 0.9, (K, D))
    sigma = rng.uniform(0.05, 0.4, (K, D))
    logits = rng.normal(0, 1, K)
    return np.concatenate([mu.ravel(), sigma.ravel(), logits]).astype(np.float32)


def _draw(
    spec: ModelSpec, raw: np.ndarray, plan: steering.Plan, rng: np.random.Generator, n: int = N
) -> np.ndarray:
    uniforms = rng.random(n)
    normals = rng.standard_normal((n, D))
    return np.array(
        [
            steering.sample_net(spec, raw, plan, 1.0, 1.0, float(u), e.tolist())
            for u, e in zip(uniforms, normals, strict=True)
        ]
    )


def _free_draws(raw: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Direct draws from the unconstrained mixture (vectorised; temperature 1)."""
    mu = raw[: K * D].reshape(K, D).astype(np.float64)
    sigma = raw[K * D : 2 * K * D].reshape(K, D).astype(np.float64)
    logits = raw[2 * K * D :].astype(np.float64)
    w = np.exp(logits - logits.max())
    picks = rng.choice(K, size=n, p=w / w.sum())
    return mu[picks] + sigma[picks] * rng.standard_normal((n, D))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    return float(
        np.abs(
            np.searchsorted(a, points, "right") / len(a)
            - np.searchsorted(b, points, "right") / len(b)
        ).max()
    )


@pytest.mark.parametrize("seed", range(6))
def test_ranges_are_honoured_exactly_and_follow_the_truncated_mixture(seed: int) -> None:
    rng = np.random.default_rng(seed)
    spec, raw = _spec(), _mixture(rng)
    lo = float(rng.uniform(0.2, 0.5))
    hi = lo + 0.3
    plan = steering.plan(spec, Constraints(ranges={0: (lo, hi)}, dt_range=(0.3, 0.7)))
    samples = _draw(spec, raw, plan, rng)
    assert (samples[:, 1] >= lo).all() and (samples[:, 1] <= hi).all()
    assert (samples[:, 0] >= 0.3).all() and (samples[:, 0] <= 0.7).all()
    free = _free_draws(raw, rng, 2_000_000)
    inside = free[
        (free[:, 1] >= lo) & (free[:, 1] <= hi) & (free[:, 0] >= 0.3) & (free[:, 0] <= 0.7)
    ]
    assert len(inside) > 1000
    for dim in range(D):
        assert _ks(samples[:, dim], inside[:, dim]) < KS_LIMIT * math.sqrt(
            (1 + N / len(inside)) / 2
        )


@pytest.mark.parametrize("seed", range(6))
def test_a_held_value_is_exact_and_the_rest_follows_the_conditional(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    spec, raw = _spec(), _mixture(rng)
    value = float(rng.uniform(0.2, 0.8))
    plan = steering.plan(spec, Constraints(holds={1: value}))
    samples = _draw(spec, raw, plan, rng)
    assert (samples[:, 2] == value).all()
    # the closed form: components reweighted by their density at the held value
    mu = raw[: K * D].reshape(K, D).astype(np.float64)
    sigma = raw[K * D : 2 * K * D].reshape(K, D).astype(np.float64)
    logits = raw[2 * K * D :].astype(np.float64)
    log_w = logits - 0.5 * ((value - mu[:, 2]) / sigma[:, 2]) ** 2 - np.log(sigma[:, 2])
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    picks = rng.choice(K, size=N, p=w)
    closed = mu[picks, :2] + sigma[picks, :2] * rng.standard_normal((N, 2))
    for dim in range(2):
        assert _ks(samples[:, dim], closed[:, dim]) < KS_LIMIT


def test_holds_ranges_and_temperatures_together_and_the_extremes() -> None:
    rng = np.random.default_rng(7)
    spec, raw = _spec(), _mixture(rng)
    constraints = Constraints(ranges={0: (0.95, 1.0)}, holds={1: 0.5}, control_temps={0: 4.0})
    plan = steering.plan(spec, constraints)
    for pi_temp, sigma_temp in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (10.0, 10.0)):
        for u, e in zip(rng.random(200), rng.standard_normal((200, D)), strict=True):
            z = steering.sample_net(spec, raw, plan, pi_temp, sigma_temp, float(u), e.tolist())
            assert 0.95 <= z[1] <= 1.0 and z[2] == 0.5
    far = steering.plan(spec, Constraints(ranges={0: (50.0, 51.0)}))  # no mass at all: a bound
    z = steering.sample_net(spec, raw, far, 1.0, 1.0, 0.5, [0.0] * D)
    assert z[1] == 50.0


def test_the_constrained_density_integrates_to_one() -> None:
    rng = np.random.default_rng(3)
    spec, raw = _spec(), _mixture(rng)
    plan = steering.plan(spec, Constraints(ranges={0: (0.3, 0.6)}, holds={1: 0.4}))
    grid = np.linspace(-1.5, 2.5, 241)  # dt (free, unbounded here)
    inner = np.linspace(0.3, 0.6, 61)  # control 0 inside its range
    total = 0.0
    for a in grid:
        values = [
            math.exp(steering.log_density(spec, raw, np.array([a, b, 0.4]), plan)) for b in inner
        ]
        total += np.trapezoid(values, inner) * (grid[1] - grid[0])
    assert total == pytest.approx(1.0, abs=2e-3)
    outside = steering.log_density(spec, raw, np.array([0.0, 0.7, 0.4]), plan)
    assert outside == -math.inf


def test_a_runtime_samples_constrained_events_in_the_data_space_deterministically() -> None:
    model = random_model(dimension=4, units=16, seed=2)
    constraints = Constraints(ranges={0: (0.2, 0.3)}, holds={2: 0.75}, dt_range=(0.05, 0.2))
    events = []
    for _ in range(2):
        runtime = DenseModel(model).voice(np.random.default_rng(5))
        raw = runtime.observe(np.array([0.02, 0.5, 0.5, 0.5]))
        events.append([runtime.sample(raw, 1.0, 1.0, constraints) for _ in range(300)])
    first = np.array(events[0])
    np.testing.assert_array_equal(first, np.array(events[1]))
    assert ((first[:, 1] >= 0.2) & (first[:, 1] <= 0.3)).all() and (first[:, 3] == 0.75).all()
    assert ((first[:, 0] >= 0.05) & (first[:, 0] <= 0.2)).all()
    assert first[:, 2].std() > 0.01  # the free control still moves


def test_the_data_space_likelihood_integrates_to_one_with_a_log_dt() -> None:
    """The Jacobian of the free dimensions: integrate over dt through u = log(dt + offset)
    (the components sit far above log(offset), so no mass falls on dt <= 0)."""
    rng = np.random.default_rng(11)
    transform = DataTransform("log", 0.04, (0.0, 0.5, 0.5), (0.3, 0.25, 0.3))
    spec = ModelSpec(D, 1, 4, K, transform)
    mu = np.column_stack([rng.normal(0, 0.5, K), rng.normal(0, 0.5, (K, 2))])
    sigma = rng.uniform(0.3, 0.8, (K, D))
    raw = np.concatenate([mu.ravel(), sigma.ravel(), rng.normal(0, 1, K)]).astype(np.float32)
    plan = steering.plan(spec, Constraints(ranges={0: (0.25, 0.75)}, holds={1: 0.6}))
    us = np.linspace(-0.3 * 8, 0.3 * 8, 281)  # log(dt + offset): +-8 spreads of the transform
    xs = np.linspace(0.25, 0.75, 61)
    total = 0.0
    for u in us:
        dt = math.exp(u) - 0.04
        if dt <= 0:
            continue
        row = [
            math.exp(steering.log_likelihood(spec, raw, np.array([dt, x, 0.1]), plan)) for x in xs
        ]
        total += np.trapezoid(row, xs) * (dt + 0.04) * (us[1] - us[0])
    assert total == pytest.approx(1.0, abs=5e-3)
