"""sigma_min from the controls' resolution: 7-bit, 10-bit and continuous controls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foretell.model.transform import DataTransform
from foretell.train.resolution import (
    DEFAULT_SIGMA_MIN,
    MAX_SIGMA_MIN,
    control_steps,
    sigma_floor,
)
from tests.fixtures import bundled_performances


def _events(columns: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    dt = rng.exponential(0.05, n) + 1e-4
    return np.column_stack([dt, *columns])


def test_steps_of_quantised_and_continuous_controls() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    seven_bit = rng.integers(0, 128, n) / 127
    ten_bit = rng.integers(0, 1024, n) / 1023
    continuous = rng.random(n)
    steps = control_steps(_events([seven_bit, ten_bit, continuous], n, rng))
    assert steps[0] == pytest.approx(1 / 127)
    assert steps[1] == pytest.approx(1 / 1023)
    assert steps[2] is None


def test_floor_is_one_step_in_network_units() -> None:
    rng = np.random.default_rng(1)
    n = 5000
    events = _events([rng.integers(0, 512, n) / 511, rng.integers(0, 128, n) / 127], n, rng)
    transform = DataTransform.fit(events)
    expected = (1 / 511) / math.sqrt(12) / transform.scale[1]  # the finer control decides
    assert sigma_floor(events, transform) == pytest.approx(expected)


def test_floor_is_clipped_and_falls_back_for_continuous_data() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    continuous = _events([rng.random(n), rng.random(n)], n, rng)
    assert sigma_floor(continuous, DataTransform.fit(continuous)) == DEFAULT_SIGMA_MIN
    switches = _events([rng.integers(0, 3, n) / 2], n, rng)  # a three-way switch
    assert sigma_floor(switches, DataTransform.fit(switches)) == MAX_SIGMA_MIN


def test_lightpad_floor_matches_its_128_positions() -> None:
    events = np.concatenate(bundled_performances())
    transform = DataTransform.fit(events)
    assert control_steps(events) == [pytest.approx(1 / 128)] * 3
    floor = sigma_floor(events, transform)
    assert DEFAULT_SIGMA_MIN < floor < MAX_SIGMA_MIN
    assert floor == pytest.approx((1 / 128) / math.sqrt(12) / max(transform.scale[1:]))
