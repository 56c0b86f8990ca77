import math

import numpy as np
import pytest

from foretell.model.mixture import MixtureShape, choose_component, log_density, sample_net
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel

SHAPE = MixtureShape(mixtures=2, dimension=2)
# mu (2 x 2), sigma (2 x 2), logits (2)
RAW = np.array([0.0, 1.0, 2.0, -1.0, 0.5, 1.0, 0.2, 2.0, 0.3, -0.4])


def hand_density(z: tuple[float, float]) -> float:
    """The same mixture written out term by term."""
    w0, w1 = math.exp(0.3), math.exp(-0.4)
    pi = (w0 / (w0 + w1), w1 / (w0 + w1))

    def normal(x: float, mu: float, s: float) -> float:
        return math.exp(-0.5 * ((x - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))

    p0 = normal(z[0], 0.0, 0.5) * normal(z[1], 1.0, 1.0)
    p1 = normal(z[0], 2.0, 0.2) * normal(z[1], -1.0, 2.0)
    return pi[0] * p0 + pi[1] * p1


@pytest.mark.parametrize("z", [(0.1, 0.9), (2.1, -0.5), (-3.0, 4.0)])
def test_log_density_matches_hand_computation(z: tuple[float, float]) -> None:
    got = log_density(SHAPE, RAW, np.array(z))
    assert got == pytest.approx(math.log(hand_density(z)), abs=1e-10)


def test_floor_component_bounds_far_outliers() -> None:
    far = np.array([40.0, -40.0])
    plain = float(log_density(SHAPE, RAW, far))
    floored = float(log_density(SHAPE, RAW, far, floor_weight=1e-3, floor_sigma=4.0))
    expected_floor = math.log(1e-3) + sum(
        -0.5 * (v / 4.0) ** 2 - math.log(4.0) - 0.5 * math.log(2 * math.pi) for v in far
    )
    assert plain < -1000
    assert floored == pytest.approx(expected_floor, rel=1e-6)
    near = np.array([0.1, 0.9])
    cost = float(log_density(SHAPE, RAW, near)) - float(
        log_density(SHAPE, RAW, near, floor_weight=1e-3, floor_sigma=4.0)
    )
    assert 0 < cost <= -math.log1p(-1e-3) + 1e-12


def test_zero_pi_temperature_picks_the_top_component() -> None:
    logits = np.array([0.1, 2.0, 1.9])
    assert all(choose_component(logits, 0.0, u) == 1 for u in np.linspace(0, 0.999, 50))


def test_component_frequencies_follow_softmax_over_temperature() -> None:
    logits = np.array([0.0, 1.0, 2.0])
    rng = np.random.default_rng(1)
    for temp in (1.0, 3.0):
        counts = np.bincount(
            [choose_component(logits, temp, u) for u in rng.random(20000)], minlength=3
        )
        expected = np.exp(logits / temp) / np.exp(logits / temp).sum()
        np.testing.assert_allclose(counts / 20000, expected, atol=0.015)


def _loop_choice(logits: list[float], pi_temp: float, uniform: float) -> int:
    """The draw as it was first written: a running sum, stopped where it passes the threshold."""
    top = max(logits)
    weights = [math.exp((v - top) / pi_temp) for v in logits]
    threshold = uniform * sum(weights)
    total = 0.0
    for index, weight in enumerate(weights):
        total += weight
        if total > threshold:
            return index
    return len(weights) - 1


def test_the_draw_picks_what_a_running_sum_picks_to_the_last_bit() -> None:
    """The same index for the same uniform, on the boundaries between components too (a
    threshold equal to a running sum), with logits taken out (-1e300, -inf) and with NaN."""
    rng = np.random.default_rng(5)
    cases = []
    for n in (1, 2, 5, 8, 40):
        for temp in (1.0, 0.5, 1.7, 1e-3):
            logits = (rng.normal(size=n) * 3).astype(np.float32).tolist()
            weights = [math.exp((v - max(logits)) / temp) for v in logits]
            total, running = sum(weights), 0.0
            boundaries = []
            for weight in weights:
                running += weight
                boundaries.append(running / total)  # a threshold on (or next to) a sum
            uniforms = [0.0, *rng.random(50).tolist(), *boundaries, *np.nextafter(boundaries, 0)]
            cases += [(logits, temp, float(u)) for u in uniforms if u < 1.0]
    cases += [([0.3, -1e300, 1.2, -math.inf], 0.7, u) for u in (0.0, 0.2, 0.5, 0.9)]
    cases += [([0.3, math.nan, 1.2], 1.0, u) for u in (0.0, 0.5, 0.99)]
    cases += [([math.nan, 0.3, 1.2], 1.0, u) for u in (0.0, 0.5, 0.99)]
    for logits, temp, u in cases:
        assert choose_component(logits, temp, u) == _loop_choice(logits, temp, u), (logits, u)


def test_zero_sigma_temperature_returns_the_mean() -> None:
    z = sample_net(SHAPE, RAW, 0.0, 0.0, 0.5, np.array([3.0, -3.0]))
    np.testing.assert_array_equal(z, [0.0, 1.0])


def test_sigma_temperature_scales_the_variance() -> None:
    rng = np.random.default_rng(2)
    spread = {}
    for temp in (0.25, 1.0, 4.0):
        samples = np.array(
            [sample_net(SHAPE, RAW, 0.0, temp, 0.0, rng.standard_normal(2)) for _ in range(20000)]
        )
        spread[temp] = samples.std(axis=0)
    np.testing.assert_allclose(spread[1.0], [0.5, 1.0], rtol=0.03)
    np.testing.assert_allclose(spread[4.0] / spread[1.0], [2.0, 2.0], rtol=0.05)
    np.testing.assert_allclose(spread[0.25] / spread[1.0], [0.5, 0.5], rtol=0.05)


def test_runtime_samples_are_always_valid_events_even_when_hot() -> None:
    runtime = DenseModel(random_model()).voice(np.random.default_rng(3))
    event = np.array([0.02, 0.5, 0.5, 0.5])
    for _ in range(2000):
        event = runtime.sample(runtime.observe(event), pi_temp=5.0, sigma_temp=25.0)
        assert event[0] >= runtime.spec.transform.dt_min
        assert np.all((event[1:] >= 0) & (event[1:] <= 1))


def test_cold_runtime_samples_are_the_top_mean() -> None:
    runtime = DenseModel(random_model()).voice(np.random.default_rng(4))
    raw = runtime.observe(np.array([0.02, 0.5, 0.5, 0.5])).copy()
    mu, _, logits = runtime.spec.mixture.split(raw)
    expected = runtime.spec.transform.from_net(mu[int(np.argmax(logits))])
    np.testing.assert_allclose(runtime.sample(raw, 0.0, 0.0), expected, rtol=1e-6)
