"""The common basis on which dense and moves models are scored (NumPy only).

A discrete control (grid or set, ``foretell.model.control_kinds``) is scored by the
probability of the cell its value falls in; dt and continuous controls by their density in the
data space. A moves model gives cell probabilities natively; a dense model's density is
integrated over the cell (exact for its diagonal components: a product of Gaussian masses over
the discrete dimensions, the end cells reaching to infinity as its clipped samples do). Then
one NLL compares both: ``nll_basis`` ``"cells"``. A model scored with no discrete control is on
``"density"``, as ``foretell trace`` always scored dense models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from foretell.model.control_kinds import EDGE, ControlKind
from foretell.model.fileformat import ModelSpec
from foretell.model.mixture import log_softmax

LOG_2PI = math.log(2.0 * math.pi)
_ERFC = np.frompyfunc(math.erfc, 1, 1)
TAIL = -20.0  # below this log Phi uses its asymptotic series


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """``log Phi(x)``, accurate far into the lower tail."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    low = x < TAIL
    out[~low] = np.log(0.5 * np.asarray(_ERFC(-x[~low] / math.sqrt(2.0)), dtype=np.float64))
    t = x[low]
    out[low] = -0.5 * t * t - np.log(-t) - 0.5 * LOG_2PI + np.log1p(-1.0 / t**2 + 3.0 / t**4)
    return out


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``."""
    x = np.minimum(np.asarray(x, dtype=np.float64), -1e-7)
    return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_interval(mu: np.ndarray, sigma: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``log(Phi((hi - mu) / sigma) - Phi((lo - mu) / sigma))``, computed in the lower tail."""
    a, b = (lo - mu) / sigma, (hi - mu) / sigma
    upper = a > 0
    a, b = np.where(upper, -b, a), np.where(upper, -a, b)
    top = log_ndtr(b)
    return top + log1mexp(log_ndtr(a) - top)


def cell_bounds(
    kind: ControlKind, values: np.ndarray, loc: float, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Network-space bounds of the cell holding each value (end cells: ``-EDGE``, ``EDGE``)."""
    edges = kind.inner_edges()
    cell = kind.cell_of(values)
    lo = np.where(cell > 0, (edges[np.maximum(cell - 1, 0)] - loc) / scale, -EDGE)
    top = len(edges)
    hi = np.where(cell < top, (edges[np.minimum(cell, max(top - 1, 0))] - loc) / scale, EDGE)
    if top == 0:
        lo, hi = np.full(np.shape(values), -EDGE), np.full(np.shape(values), EDGE)
    return lo, hi


def dense_cells_log_likelihood(
    spec: ModelSpec, raw: np.ndarray, events: np.ndarray, kinds: Sequence[ControlKind]
) -> np.ndarray:
    """A dense model's ``log p`` of ``events (n, D)`` under ``raw (n, P)`` on the common basis:
    each discrete control's cell probability, density for dt and continuous controls."""
    raw = np.asarray(raw, dtype=np.float64)
    events = np.asarray(events, dtype=np.float64)
    transform = spec.transform
    z = transform.to_net(events).astype(np.float64)
    mu, sigma, logits = spec.mixture.split(raw)  # (n, K, D)
    discrete = [i for i, kind in enumerate(kinds) if kind.discrete]
    density = [0] + [1 + i for i, kind in enumerate(kinds) if not kind.discrete]
    u = (z[:, None, density] - mu[..., density]) / sigma[..., density]
    per_k = -0.5 * (u**2).sum(-1) - np.log(sigma[..., density]).sum(-1)
    per_k = per_k - 0.5 * len(density) * LOG_2PI + log_softmax(logits)  # (n, K)
    floor_z = -0.5 * ((z[:, density] / spec.floor_sigma) ** 2).sum(-1)
    floor = floor_z - len(density) * (math.log(spec.floor_sigma) + 0.5 * LOG_2PI)
    for i in discrete:
        d = 1 + i
        lo, hi = cell_bounds(kinds[i], events[:, d], transform.loc[d], transform.scale[d])
        per_k = per_k + log_interval(mu[..., d], sigma[..., d], lo[:, None], hi[:, None])
        floor = floor + log_interval(np.zeros(1), np.array([spec.floor_sigma]), lo, hi)
    if spec.floor_weight > 0:
        per_k = per_k + math.log1p(-spec.floor_weight)
        both = np.concatenate([per_k, (floor + math.log(spec.floor_weight))[:, None]], -1)
    else:
        both = per_k
    top = both.max(-1, keepdims=True)
    log_p = (top + np.log(np.exp(both - top).sum(-1, keepdims=True)))[:, 0]
    return log_p + density_jacobian(spec, events, density)


def density_jacobian(spec: ModelSpec, events: np.ndarray, density: Sequence[int]) -> np.ndarray:
    """``log|dz/dx|`` over dt and the dimensions scored by density."""
    transform = spec.transform
    constant = -float(sum(math.log(transform.scale[d]) for d in density))
    if transform.dt_kind == "log":
        return constant - np.log(np.asarray(events)[..., 0] + transform.dt_offset)
    return np.full(np.shape(events)[:-1], constant)
