"""mdn_loss against a mixture density computed by hand, and against the NumPy density."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foretell.model.fileformat import ModelSpec
from foretell.model.mixture import log_density
from foretell.model.transform import DataTransform

torch = pytest.importorskip("torch")
from foretell.model.torch_mdrnn import mdn_loss  # noqa: E402


def _spec(floor_weight: float, floor_sigma: float = 4.0) -> ModelSpec:
    transform = DataTransform("log", 1e-3, (0.0, 0.0), (1.0, 1.0))
    return ModelSpec(2, 1, 4, 2, transform, floor_weight=floor_weight, floor_sigma=floor_sigma)


def _gauss(x: float, mu: float, sigma: float) -> float:
    return math.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


# Two components over two dimensions: mu, sigma (component-major), then logits.
MU = [0.5, -1.0, -0.3, 2.0]
SIGMA = [0.7, 1.5, 0.2, 0.9]
LOGITS = [0.3, -0.8]
RAW = np.array(MU + SIGMA + LOGITS, dtype=np.float64)
Z = np.array([0.1, 0.4])


def _by_hand(floor_weight: float, floor_sigma: float) -> float:
    weights = np.exp(LOGITS) / np.exp(LOGITS).sum()
    density = 0.0
    for k in range(2):
        component = _gauss(Z[0], MU[2 * k], SIGMA[2 * k]) * _gauss(
            Z[1], MU[2 * k + 1], SIGMA[2 * k + 1]
        )
        density += (1 - floor_weight) * weights[k] * component
    density += floor_weight * _gauss(Z[0], 0, floor_sigma) * _gauss(Z[1], 0, floor_sigma)
    return -math.log(density)


@pytest.mark.parametrize("floor_weight", [0.0, 1e-3, 0.3])
def test_loss_is_the_hand_computed_mixture_nll(floor_weight: float) -> None:
    spec = _spec(floor_weight)
    loss = mdn_loss(spec, torch.tensor(RAW), torch.tensor(Z))
    assert float(loss) == pytest.approx(_by_hand(floor_weight, 4.0), rel=1e-10)


def test_loss_matches_the_numpy_density_on_batches() -> None:
    rng = np.random.default_rng(3)
    spec = _spec(1e-3)
    raw = rng.standard_normal((5, 7, spec.mixture.params))
    raw[..., 4:8] = np.abs(raw[..., 4:8]) + 0.05  # sigmas positive
    z = rng.standard_normal((5, 7, 2)) * 3
    expected = -log_density(spec.mixture, raw, z, spec.floor_weight, spec.floor_sigma)
    got = mdn_loss(spec, torch.tensor(raw), torch.tensor(z)).numpy()
    assert got.shape == (5, 7)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_floor_bounds_the_nll_of_a_far_away_event() -> None:
    raw = torch.tensor(MU + [0.01] * 4 + LOGITS, dtype=torch.float64)
    far = torch.tensor([6.0, -6.0], dtype=torch.float64)
    without = float(mdn_loss(_spec(0.0), raw, far))
    with_floor = float(mdn_loss(_spec(1e-3), raw, far))
    assert without > 1e4
    assert with_floor < 15.0
