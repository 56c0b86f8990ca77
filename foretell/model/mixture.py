"""The mixture density head's output: layout, density and sampling (NumPy only).

A raw output vector has ``P = 2*K*D + K`` entries, IMPSY's layout:
``[mu (K*D, component-major), sigma (K*D, positive), logits (K)]``, all in the network space
(see ``foretell.model.transform``). Component ``k`` is a diagonal Gaussian
``N(mu_k, diag sigma_k^2)`` with weight ``softmax(logits)_k``.

**Floor.** A model may carry a fixed floor component ``N(0, floor_sigma^2 I)`` of weight
``floor_weight`` (the learned components share ``1 - floor_weight``). It bounds the NLL of events
unlike anything seen in training (another session, another player) and costs at most
``-log(1 - floor_weight)`` nats elsewhere. It exists for scoring and training only: sampling draws
from the learned components, so a performance never jumps to a random place.

**Temperatures** (IMPSY's meaning, ``keras-mdn-layer``'s ``sample_from_output``):

- π-temperature ``T_pi``: the component is drawn from ``softmax(logits / T_pi)``; ``T_pi = 0`` picks
  the most likely component.
- σ-temperature ``T_sigma``: the chosen component's covariance is multiplied by ``T_sigma``, i.e.
  the sample is ``mu_k + sqrt(T_sigma) * sigma_k * eps`` with ``eps ~ N(0, I)``; ``T_sigma = 0``
  returns the mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class MixtureShape:
    """How many components (K) over how many dimensions (D)."""

    mixtures: int
    dimension: int

    @property
    def params(self) -> int:
        return 2 * self.mixtures * self.dimension + self.mixtures

    def split(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``raw (..., P)`` -> mu ``(..., K, D)``, sigma ``(..., K, D)``, logits ``(..., K)``."""
        k, d = self.mixtures, self.dimension
        lead = raw.shape[:-1]
        mu = raw[..., : k * d].reshape(*lead, k, d)
        sigma = raw[..., k * d : 2 * k * d].reshape(*lead, k, d)
        logits = raw[..., 2 * k * d :]
        return mu, sigma, logits


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_density(
    shape: MixtureShape,
    raw: np.ndarray,
    z: np.ndarray,
    floor_weight: float = 0.0,
    floor_sigma: float = 1.0,
) -> np.ndarray:
    """``log p(z)`` in the network space under the mixture ``raw (..., P)``; ``z (..., D)``."""
    raw = np.asarray(raw, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    mu, sigma, logits = shape.split(raw)
    diff = (z[..., None, :] - mu) / sigma  # (..., K, D)
    component = -0.5 * (diff**2).sum(-1) - np.log(sigma).sum(-1) - 0.5 * shape.dimension * LOG_2PI
    weighted = log_softmax(logits) + component  # (..., K)
    if floor_weight > 0:
        weighted = weighted + math.log1p(-floor_weight)
        floor = (
            -0.5 * ((z / floor_sigma) ** 2).sum(-1)
            - shape.dimension * (math.log(floor_sigma) + 0.5 * LOG_2PI)
            + math.log(floor_weight)
        )
        weighted = np.concatenate([weighted, floor[..., None]], axis=-1)
    top = weighted.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(weighted - top).sum(axis=-1, keepdims=True)))[..., 0]


def choose_component(logits: np.ndarray | list[float], pi_temp: float, uniform: float) -> int:
    """Draw a component index from ``softmax(logits / pi_temp)`` using one uniform in [0, 1)."""
    values = logits.tolist() if isinstance(logits, np.ndarray) else logits
    top = max(values)
    if pi_temp <= 0.0:
        return values.index(top)
    exp = math.exp
    if pi_temp == 1.0:  # the same floats: x / 1.0 is x
        weights = [exp(v - top) for v in values]
    else:
        weights = [exp((v - top) / pi_temp) for v in values]
    threshold = uniform * sum(weights)
    total = 0.0
    for index, weight in enumerate(weights):
        total += weight
        if total > threshold:
            return index
    return len(weights) - 1


def sample_net(
    shape: MixtureShape,
    raw: np.ndarray,
    pi_temp: float,
    sigma_temp: float,
    uniform: float,
    normal: list[float],
) -> list[float]:
    """One sample in the network space, given one uniform and ``D`` standard normals.

    Works on Python floats: for a handful of values that is several times faster than NumPy.
    """
    k, d = shape.mixtures, shape.dimension
    m = choose_component(raw[2 * k * d :], pi_temp, uniform)
    mu = raw[m * d : (m + 1) * d].tolist()
    if sigma_temp <= 0.0:
        return mu
    spread = math.sqrt(sigma_temp)
    sigma = raw[k * d + m * d : k * d + (m + 1) * d].tolist()
    return [a + spread * s * e for a, s, e in zip(mu, sigma, normal, strict=True)]
