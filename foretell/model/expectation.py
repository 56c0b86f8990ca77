"""What a dense model expects next, in the data space: its mixture as the dashboard draws it.

``expectation(spec, raw, pi_temp, sigma_temp)`` turns the raw mixture parameters of the next
event into each component's weight, dt and controls (centre and ±1 σ), under the temperatures the
sampler uses. Pure NumPy; it draws nothing and knows nothing of pages or sockets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from foretell.model.fileformat import ModelSpec

MIN_WEIGHT = 0.01  # mixture components lighter than this are not drawn


def mixture_weights(logits: np.ndarray, pi_temp: float) -> np.ndarray:
    """``softmax(logits / pi_temp)``, the sampler's component weights (one-hot at 0)."""
    if pi_temp <= 0.0:
        weights = np.zeros_like(logits)
        weights[int(np.argmax(logits))] = 1.0
        return weights
    scaled = (logits - logits.max()) / pi_temp
    weights = np.exp(scaled)
    return weights / weights.sum()


def _dt_from_u(spec: ModelSpec, u: np.ndarray) -> np.ndarray:
    """Seconds from dt's network units before the affine step: the sampler's own inverse."""
    return spec.transform.dt_from_net_units(u)


def expectation(
    spec: ModelSpec, raw: Sequence[float] | np.ndarray, pi_temp: float, sigma_temp: float
) -> dict[str, Any]:
    """The next event's mixture in the data space, as the sampler would draw it now.

    Each component (heaviest first, those under ``MIN_WEIGHT`` left out) gives its weight, its dt
    as ``[median, lo, hi]`` (±1 σ, seconds) and per control ``[mean, lo, hi]`` (±1 σ, clipped to
    [0, 1]); σ is scaled by √σ-temperature, the weights by the π-temperature. ``dt`` is the
    heaviest component's median: when the model expects the next event.
    """
    mu, sigma, logits = spec.mixture.split(np.asarray(raw, dtype=np.float64))  # (K, D), (K,)
    weights = mixture_weights(logits, pi_temp)
    scale = np.asarray(spec.transform.scale)
    centre = mu * scale + np.asarray(spec.transform.loc)  # (K, D) before the dt map
    width = sigma * scale * math.sqrt(max(sigma_temp, 0.0))  # (K, D)
    dt = np.stack([_dt_from_u(spec, c) for c in (centre, centre - width, centre + width)], -1)
    values = np.clip(np.stack([centre, centre - width, centre + width], -1), 0.0, 1.0)
    order = [int(k) for k in np.argsort(-weights) if weights[k] >= MIN_WEIGHT] or [0]
    components = [
        {
            "w": float(weights[k]),
            "dt": dt[k, 0].tolist(),  # (3,)
            "x": values[k, 1:].tolist(),  # (D-1, 3)
        }
        for k in order
    ]
    return {"components": components, "dt": components[0]["dt"][0]}
