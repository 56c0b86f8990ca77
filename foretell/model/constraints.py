"""Steering the mixture: ranges, held values, per-control σ-temperatures and a range for dt.

For a diagonal Gaussian mixture these are exact, not clipping (the mathematics is written out in
docs/model-format.md, "Constraints"):

- **hold** control ``i`` at ``v``: the other dimensions are drawn from the mixture *conditioned*
  on ``x_i = v``. With a diagonal covariance that is again a mixture of the same components,
  each reweighted by its density at the held value: ``w_k ∝ π_k N(z_i; μ_ki, σ_ki)``.
- **range** ``[lo, hi]`` for control ``i`` (and **dtrange** for the interval): the mixture
  truncated to the box. Each component is truncated dimension by dimension (diagonal), and its
  weight multiplied by the mass it keeps in the box, ``Z_k = Π_d [Φ(b_kd) - Φ(a_kd)]``; the
  component is drawn from ``π_k Z_k``, then each bounded dimension by the inverse CDF of its
  truncated normal, so every sample lies inside its bounds.
- **control σ-temperature**: component spreads of control ``i`` multiplied by ``sqrt(T_i)``, on top
  of the global σ-temperature (``T_i = 1``: unchanged).

Bounds are given in the data space (controls in [0, 1]; dt in seconds of the model's own
interval) and mapped to the network space by ``DataTransform`` (affine for controls, monotonic for
dt). Temperatures act as in ``foretell.model.mixture``: π-temperature on the (reweighted) component
weights, σ-temperature on the spreads *before* truncation, so a tempered sample still obeys every
bound. ``log_likelihood`` scores data under the constrained model (temperature 1): a correctly
normalised density over the free dimensions, ``-inf`` outside a range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from statistics import NormalDist

import numpy as np

from foretell.model.fileformat import ModelSpec
from foretell.model.mixture import LOG_2PI, choose_component, log_softmax

_UNIT = NormalDist()
_SQRT2 = math.sqrt(2.0)
TINY_MASS = 1e-300  # below this a truncated component's mass counts as none


@dataclass(frozen=True)
class Constraints:
    """What the performer asks of the model; controls numbered from 0 (``x1`` is control 0).

    ``ranges`` and ``holds`` map a control to ``(lo, hi)`` and a value in [0, 1];
    ``control_temps`` a control to its σ-temperature; ``dt_range`` bounds the model's own
    interval in seconds (the engine divides a played-interval range by its timescale first).
    """

    ranges: dict[int, tuple[float, float]] = field(default_factory=dict)
    holds: dict[int, float] = field(default_factory=dict)
    control_temps: dict[int, float] = field(default_factory=dict)
    dt_range: tuple[float, float] | None = None

    @property
    def active(self) -> bool:
        return bool(self.ranges or self.holds or self.control_temps or self.dt_range)

    def with_holds(self, holds: dict[int, float]) -> Constraints:
        return replace(self, holds={**self.holds, **holds})


@dataclass(frozen=True)
class Plan:
    """The constraints in the network space of one model: per dimension, hold or bounds."""

    held: dict[int, float]  # dimension -> z
    bounds: dict[int, tuple[float, float]]  # dimension -> (a, b) in z
    temps: tuple[float, ...]  # (D,) σ multipliers (sqrt of temperatures), 1 where none


def plan(spec: ModelSpec, constraints: Constraints) -> Plan:
    """Map ``constraints`` into ``spec``'s network space (dimension 0 is dt)."""
    t = spec.transform
    loc, scale = np.asarray(t.loc), np.asarray(t.scale)
    held = {i + 1: (v - loc[i + 1]) / scale[i + 1] for i, v in constraints.holds.items()}
    bounds = {
        i + 1: ((lo - loc[i + 1]) / scale[i + 1], (hi - loc[i + 1]) / scale[i + 1])
        for i, (lo, hi) in constraints.ranges.items()
        if i + 1 not in held
    }
    if constraints.dt_range is not None:
        lo, hi = constraints.dt_range
        u = t.dt_to_net_units(np.array([max(lo, t.dt_min), max(hi, t.dt_min)]))
        bounds[0] = ((u[0] - loc[0]) / scale[0], (u[1] - loc[0]) / scale[0])
    temps = [1.0] * spec.dimension
    for i, temp in constraints.control_temps.items():
        temps[i + 1] = math.sqrt(temp)
    return Plan(
        {dim: float(z) for dim, z in held.items()},
        {dim: (float(a), float(b)) for dim, (a, b) in bounds.items()},
        tuple(temps),
    )


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def _mass(a: float, b: float) -> float:
    """``Φ(b) - Φ(a)`` computed on the side where it keeps its precision."""
    if a > 0.0:
        return _phi(-a) - _phi(-b)
    return _phi(b) - _phi(a)


def _truncated(mu: float, sigma: float, a: float, b: float, uniform: float) -> float:
    """A draw from ``N(mu, sigma^2)`` truncated to ``[a, b]`` (inverse CDF; exact bounds)."""
    if sigma <= 0.0:
        return min(max(mu, a), b)
    lo, hi = (a - mu) / sigma, (b - mu) / sigma
    flip = lo > 0.0  # work in the lower tail, where the CDF is precise
    if flip:
        lo, hi = -hi, -lo
    p_lo, p_hi = _phi(lo), _phi(hi)
    if p_hi - p_lo < TINY_MASS:  # all its mass is beyond a bound: the nearer bound
        edge = lo if abs(lo) < abs(hi) else hi
        x = edge
    else:
        p = min(max(p_lo + uniform * (p_hi - p_lo), 1e-300), 1.0 - 1e-16)
        x = min(max(_UNIT.inv_cdf(p), lo), hi)
    if flip:
        x = -x
    return min(max(mu + sigma * x, a), b)


def _log_mass(a: float, b: float) -> float:
    mass = _mass(a, b)
    return math.log(mass) if mass > TINY_MASS else -1e30


def conditioned_logits(
    spec: ModelSpec, raw: list[float], plan_: Plan, sigma_temp: float
) -> list[float]:
    """The component log-weights given the held values and the box (before π-temperature).

    Python floats throughout: for a handful of components that is several times faster than
    NumPy on arrays this small (as ``foretell.model.mixture.sample_net``)."""
    k, d = spec.mixtures, spec.dimension
    temps = plan_.temps
    logits = raw[2 * k * d :]
    spread = math.sqrt(sigma_temp)
    for m in range(k):
        base, extra = m * d, 0.0
        for dim, z in plan_.held.items():
            s = raw[k * d + base + dim] * temps[dim]
            extra += -0.5 * ((z - raw[base + dim]) / s) ** 2 - math.log(s)
        for dim, (a, b) in plan_.bounds.items():
            s = raw[k * d + base + dim] * temps[dim] * spread
            centre = raw[base + dim]
            if s > 0.0:
                extra += _log_mass((a - centre) / s, (b - centre) / s)
            elif not a <= centre <= b:
                extra += -1e30
        logits[m] += extra
    return logits


def sample_net(
    spec: ModelSpec,
    raw: np.ndarray,
    plan_: Plan,
    pi_temp: float,
    sigma_temp: float,
    uniform: float,
    normal: list[float],
) -> list[float]:
    """One constrained sample in the network space from one uniform and ``D`` standard normals
    (the same draws as an unconstrained sample; a bounded dimension uses ``Φ(normal)``, itself
    uniform, for its inverse-CDF draw)."""
    k, d = spec.mixtures, spec.dimension
    values = raw.tolist()
    m = choose_component(conditioned_logits(spec, values, plan_, sigma_temp), pi_temp, uniform)
    spread = math.sqrt(sigma_temp)
    temps, held, bounds = plan_.temps, plan_.held, plan_.bounds
    z = []
    for dim in range(d):
        if dim in held:
            z.append(held[dim])
            continue
        mu = values[m * d + dim]
        sigma = values[k * d + m * d + dim] * temps[dim] * spread
        if dim in bounds:
            a, b = bounds[dim]
            z.append(_truncated(mu, sigma, a, b, _phi(normal[dim])))
        else:
            z.append(mu + sigma * normal[dim])
    return z


def exact(event: list[float], constraints: Constraints) -> list[float]:
    """A sampled data-space event with held controls set exactly and ranged ones kept inside
    their bounds (the round trip through the network space may move them by a rounding)."""
    for i, (lo, hi) in constraints.ranges.items():
        event[i + 1] = min(max(event[i + 1], lo), hi)
    for i, value in constraints.holds.items():
        event[i + 1] = value
    if constraints.dt_range is not None:
        lo, hi = constraints.dt_range
        event[0] = min(max(event[0], lo), hi)
    return event


def log_likelihood(spec: ModelSpec, raw: np.ndarray, event: np.ndarray, plan_: Plan) -> float:
    """Data-space ``log p(event)`` under the constrained model (nats; ``-inf`` outside a range).

    The held controls are conditioned on, so their values in ``event`` are not scored; the
    Jacobian of the transform is counted for the free dimensions only. Like sampling, this is
    the learned components' mixture, without the scoring floor (``foretell.model.mixture``).
    """
    t = spec.transform
    z = t.to_net(event[None, :])[0].astype(np.float64)
    for dim, value in plan_.held.items():
        z[dim] = value
    log_p = log_density(spec, raw, z, plan_)
    free_controls = [d for d in range(1, spec.dimension) if d not in plan_.held]
    jacobian = -float(sum(math.log(t.scale[d]) for d in [0, *free_controls]))
    if t.dt_kind == "log":
        jacobian -= math.log(float(event[0]) + t.dt_offset)
    return log_p + jacobian


def log_density(spec: ModelSpec, raw: np.ndarray, z: np.ndarray, plan_: Plan) -> float:
    """``log p(z_free | holds, box)`` in the network space (temperature 1); ``-inf`` outside."""
    k, d = spec.mixtures, spec.dimension
    for dim, (a, b) in plan_.bounds.items():
        if not a <= z[dim] <= b:
            return -math.inf
    mu = raw[: k * d].reshape(k, d).astype(np.float64)
    sigma = raw[k * d : 2 * k * d].reshape(k, d).astype(np.float64) * np.array(plan_.temps)
    weights = log_softmax(np.array(conditioned_logits(spec, raw.tolist(), plan_, 1.0)))
    free = [dim for dim in range(d) if dim not in plan_.held]
    diff = (z[free] - mu[:, free]) / sigma[:, free]
    normaliser = np.log(sigma[:, free]).sum(-1) + 0.5 * len(free) * LOG_2PI
    component = -0.5 * (diff**2).sum(-1) - normaliser
    # each component's density is renormalised by the mass it keeps in the box
    mass = np.ones(k)
    for dim, (a, b) in plan_.bounds.items():
        for m in range(k):
            mass[m] *= _mass((a - mu[m, dim]) / sigma[m, dim], (b - mu[m, dim]) / sigma[m, dim])
    total = weights + component - np.log(np.maximum(mass, TINY_MASS))
    top = float(total.max())
    return top + math.log(float(np.exp(total - top).sum()))
