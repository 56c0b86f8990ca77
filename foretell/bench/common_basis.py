"""A dense model's likelihood on the common basis: grid and set controls as probabilities.

A dense MDRNN gives a density over every control. A model that knows a control takes only
certain values gives the probability of each value. The two compare only on one basis: for a
control on a grid or a set (``foretell.bench.fidelity_metrics.Lattice``), the probability of the
value's cell; for dt and continuous controls, the density (data space, nats, as ``foretell
trace``). Here a dense model's cell probability is its density integrated over the cell: the
probability that the value it plays, clipped to [0, 1] as ``DataTransform.from_net`` clips it,
is nearest to the data's value.

- A grid ``k / M`` value ``v`` has the cell ``[v - 1/(2M), v + 1/(2M)]``; a set value the cell
  between the midpoints to its neighbours. A grid cell reaching past 0 or 1, and a set's first
  and last cells, extend to infinity (clipping puts all that mass on the edge), so the cells of
  a control's lattice partition the line and their probabilities sum to 1.
- Components are diagonal Gaussians after an affine map of each control (``z = (x - loc) /
  scale``), so a component's cell probability is ``Phi(b) - Phi(a)`` on the mapped cell ``[a,
  b]``, and the event's probability is ``sum_k w_k p_k(dt) prod_cont p_k(x_j) prod_cell
  P_k(cell_j)``, the floor component included, times the Jacobian of dt and the continuous
  controls only (a cell probability needs none).

NumPy only; ``log_ndtr`` is computed from ``math.erfc`` (exact to about 1e-16 relative down to
``x = -37``) and its asymptotic series below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from foretell.bench.fidelity_metrics import Lattice
from foretell.model.fileformat import ModelSpec
from foretell.model.mixture import LOG_2PI, log_softmax

_ERFC = np.frompyfunc(math.erfc, 1, 1)
_TAIL = -37.0  # below this erfc underflows; the asymptotic series is exact to double precision


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """``log Phi(x)`` for the standard normal CDF, elementwise, finite for every finite ``x``."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    far = x < _TAIL
    near = ~far & np.isfinite(x)
    tail = x[far]
    # log Phi(x) ~ -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4)
    out[far] = -0.5 * tail**2 - np.log(-tail) - 0.5 * LOG_2PI + np.log1p(-1 / tail**2 + 3 / tail**4)
    erfc = np.asarray(_ERFC(-x[near] / math.sqrt(2.0)), dtype=np.float64)
    with np.errstate(divide="ignore"):
        out[near] = np.log(0.5 * erfc)
    out[x == np.inf] = 0.0
    out[x == -np.inf] = -np.inf
    return out


def log_interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(Phi(b) - Phi(a))`` for ``a < b`` (either may be infinite), without cancellation:
    an interval above 0 is mirrored below it, where the CDF's logs keep their precision."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    mirror = a > 0
    low, high = np.where(mirror, -b, a), np.where(mirror, -a, b)
    log_high, log_low = log_ndtr(high), log_ndtr(low)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(-np.expm1(log_low - log_high))
    return np.where(np.isneginf(log_low), log_high, log_high + gap)


def cell_edges(values: np.ndarray, lattice: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """Data-space cells ``[low, high]`` of ``values`` on ``lattice`` (see the module docstring);
    a value off the lattice gets the cell of its nearest lattice value."""
    values = np.asarray(values, dtype=np.float64)
    if lattice.kind == "grid":
        steps = lattice.steps
        centre = np.round(values * steps) / steps
        low, high = centre - 0.5 / steps, centre + 0.5 / steps
    elif lattice.kind == "set":
        table = np.asarray(lattice.values, dtype=np.float64)
        middles = np.r_[-np.inf, (table[1:] + table[:-1]) / 2, np.inf]
        index = np.argmin(np.abs(values[:, None] - table[None, :]), axis=1)
        low, high = middles[index], middles[index + 1]
    else:
        raise ValueError("a continuous control has no cells")
    return np.where(low < 0.0, -np.inf, low), np.where(high > 1.0, np.inf, high)


def common_log_likelihood(
    spec: ModelSpec, raw: np.ndarray, events: np.ndarray, controls: Sequence[Lattice]
) -> np.ndarray:
    """Log-likelihood per event on the common basis: ``raw (n, P)`` predicts ``events (n, D)``;
    ``controls`` holds one lattice per control (continuous ones are scored by density)."""
    raw = np.asarray(raw, dtype=np.float64)
    events = np.asarray(events, dtype=np.float64)
    transform = spec.transform
    mu, sigma, logits = spec.mixture.split(raw)  # (n, K, D), (n, K, D), (n, K)
    weights = log_softmax(logits)
    floor = spec.floor_weight
    if floor > 0:
        weights = weights + math.log1p(-floor)
        mu = np.concatenate([mu, np.zeros_like(mu[:, :1])], axis=1)  # (n, K+1, D)
        sigma = np.concatenate([sigma, np.full_like(sigma[:, :1], spec.floor_sigma)], axis=1)
        weights = np.concatenate([weights, np.full_like(weights[:, :1], math.log(floor))], axis=1)
    z = transform.to_net(events).astype(np.float64)  # (n, D)
    loc, scale = np.asarray(transform.loc), np.asarray(transform.scale)
    cells = [0] + [j for j, lattice in enumerate(controls, 1) if lattice.kind != "continuous"]
    dense = [j for j in range(spec.dimension) if j not in cells[1:]]
    diff = (z[:, None, dense] - mu[..., dense]) / sigma[..., dense]  # (n, K, |dense|)
    log_p = weights + (-0.5 * diff**2 - np.log(sigma[..., dense]) - 0.5 * LOG_2PI).sum(-1)  # (n, K)
    for j in cells[1:]:
        low, high = cell_edges(events[:, j], controls[j - 1])
        a = ((low - loc[j]) / scale[j])[:, None]
        b = ((high - loc[j]) / scale[j])[:, None]
        log_p = log_p + log_interval(
            (a - mu[..., j]) / sigma[..., j], (b - mu[..., j]) / sigma[..., j]
        )
    top = np.max(log_p, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    mixed = top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))
    jacobian = transform.log_abs_det_jacobian(events) + np.log(scale[cells[1:]]).sum()
    return mixed + jacobian


def basis_of(controls: Sequence[Lattice]) -> str:
    """The basis in words: which controls are scored as cell probabilities."""
    cells = [f"x{j}" for j, lattice in enumerate(controls, 1) if lattice.kind != "continuous"]
    if not cells:
        return "density"
    return (
        "cells "
        + ",".join(cells)
        + "; density dt"
        + "".join(f",x{j}" for j, lattice in enumerate(controls, 1) if lattice.kind == "continuous")
    )
