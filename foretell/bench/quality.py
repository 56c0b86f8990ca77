"""Beyond the paper: how good a model is as a predictor and as a performer, in numbers (NumPy only).

- **Held-out NLL against baselines.** Every baseline is scored exactly as ``foretell trace`` scores
  a model: in the data space, per event, in nats, on the same events (each held-out performance's
  events ``1..n-1`` given what came before). Baselines live in the same network space as the model
  (``DataTransform.fit`` on the training split, ``log(dt + 40 ms)`` standardised) and carry the
  model's floor component, so neither side wins on outliers alone:

  - ``iid``: each event an independent diagonal Gaussian (the data's mean and spread);
  - ``repeat``: the next event is the last one plus Gaussian noise (spread: RMS one-step change);
  - ``ar1``: per-control Markov model of the last step, ``z' = a + b z + N(0, s^2)`` (least
    squares);
  - ``var1``: all controls jointly, ``z' = c + A z + N(0, S)`` (full covariance).

- **Calibration of predicted dt.** The dt marginal of each predicted mixture (floor included)
  gives a CDF; an event's PIT value ``F(dt)`` falls inside the central ``p`` interval with
  probability ``p`` when the model is calibrated. Coverage = the fraction that does.

- **Distances between distributions.** Wasserstein-1 and Kolmogorov-Smirnov statistic between two
  samples, exact (merged empirical CDFs), for dt (on ``log10 dt``) and each control.

Nothing here trains a network or plots.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.registry import register
from foretell.data.dataset import Dataset, load_dataset
from foretell.model.fileformat import ModelSpec
from foretell.model.mixture import LOG_2PI, log_softmax
from foretell.model.protocol import Voice, load_voice
from foretell.model.trace import trace_performance
from foretell.model.transform import DataTransform

COVERAGE_LEVELS = (0.5, 0.8, 0.95)
BASELINES = ("iid", "repeat", "ar1", "var1")
CONTROL_NAMES = ("x", "y", "pressure")


# -- distances ------------------------------------------------------------------------------------


def _cdfs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both empirical CDFs evaluated on the merged sorted sample (and the gaps between points)."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    merged = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(a, merged, side="right") / len(a)
    cdf_b = np.searchsorted(b, merged, side="right") / len(b)
    return cdf_a, cdf_b, np.diff(merged)


def wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two 1-D samples: ``integral |F_a - F_b|``."""
    cdf_a, cdf_b, gaps = _cdfs(a, b)
    return float(np.sum(np.abs(cdf_a[:-1] - cdf_b[:-1]) * gaps))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: ``max |F_a - F_b|``."""
    cdf_a, cdf_b, _ = _cdfs(a, b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def column_names(dimension: int) -> list[str]:
    """``dt`` then the LightPad's names (x, y, pressure) or ``x1..xN`` for other instruments."""
    controls = dimension - 1
    names = list(CONTROL_NAMES) if controls == len(CONTROL_NAMES) else []
    return ["dt", *(names or [f"x{i + 1}" for i in range(controls)])]


def distribution_distances(generated: np.ndarray, human: np.ndarray) -> dict[str, Any]:
    """Per column: Wasserstein-1 (dt on log10 seconds) and KS; plus their means over columns."""
    names = column_names(generated.shape[1])
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        g, h = generated[:, i], human[:, i]
        if i == 0:
            g, h = np.log10(g), np.log10(h)
        out[name] = {
            "wasserstein": round(wasserstein1(g, h), 5),
            "ks": round(ks_statistic(g, h), 5),
        }
    out["mean_ks"] = round(float(np.mean([out[n]["ks"] for n in names])), 5)
    out["mean_wasserstein"] = round(float(np.mean([out[n]["wasserstein"] for n in names])), 5)
    return out


# -- baselines ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianBaseline:
    """``z_next ~ (1 - w) N(c + A z, S) + w N(0, floor^2 I)`` in the network space.

    ``A = 0`` gives an i.i.d. model, ``A = I, c = 0`` repeat-the-last-event, a diagonal ``A`` and
    ``S`` per-control Markov models.
    """

    name: str
    transform: DataTransform
    c: np.ndarray  # (D,)
    a: np.ndarray  # (D, D)
    cov: np.ndarray  # (D, D)
    floor_weight: float
    floor_sigma: float

    def log_likelihood(self, previous: np.ndarray, events: np.ndarray) -> np.ndarray:
        """Data-space ``log p(events | previous events)``, both ``(n, D)`` data-space arrays."""
        z_prev, z = self.transform.to_net(previous), self.transform.to_net(events)
        diff = z.astype(float) - (self.c + z_prev.astype(float) @ self.a.T)  # (n, D)
        chol = np.linalg.cholesky(self.cov)
        white = np.linalg.solve(chol, diff.T).T  # (n, D)
        d = z.shape[1]
        log_main = (
            -0.5 * (white**2).sum(1) - np.log(np.diag(chol)).sum() - 0.5 * d * LOG_2PI
        ) + math.log1p(-self.floor_weight)
        log_floor = (
            -0.5 * ((z / self.floor_sigma) ** 2).sum(1)
            - d * (math.log(self.floor_sigma) + 0.5 * LOG_2PI)
            + math.log(self.floor_weight)
        )
        log_p = np.logaddexp(log_main, log_floor)
        return log_p + self.transform.log_abs_det_jacobian(events)


def _pairs(segments: Sequence[np.ndarray], transform: DataTransform) -> tuple[np.ndarray, ...]:
    """Network-space (previous, next) pairs within each segment."""
    prev = np.concatenate([transform.to_net(s[:-1]) for s in segments if len(s) > 1]).astype(float)
    nxt = np.concatenate([transform.to_net(s[1:]) for s in segments if len(s) > 1]).astype(float)
    return prev, nxt


def _least_squares(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y ~ c + x A^T``: returns (c, A)."""
    design = np.column_stack([np.ones(len(x)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return coef[0], coef[1:].T


def fit_baselines(
    train: Sequence[np.ndarray], transform: DataTransform, spec: ModelSpec
) -> dict[str, GaussianBaseline]:
    """Fit every baseline on the training segments (data space) in ``transform``'s space."""
    prev, nxt = _pairs(train, transform)
    d = prev.shape[1]
    eye, zero = np.eye(d), np.zeros(d)
    floor = 1e-6 * eye  # keeps a degenerate control (always 0) from a singular covariance

    def make(name: str, c: np.ndarray, a: np.ndarray, cov: np.ndarray) -> GaussianBaseline:
        return GaussianBaseline(
            name, transform, c, a, cov + floor, spec.floor_weight, spec.floor_sigma
        )

    every = np.concatenate([prev, nxt[-1:]])
    step = nxt - prev
    fitted = {
        "iid": make("iid", every.mean(0), np.zeros((d, d)), np.diag(every.var(0))),
        "repeat": make("repeat", zero, eye, np.diag((step**2).mean(0))),
    }
    per_control = [_least_squares(prev[:, [i]], nxt[:, i]) for i in range(d)]
    c1 = np.array([float(c) for c, _ in per_control])
    a1 = np.diag([float(a.ravel()[0]) for _, a in per_control])
    fitted["ar1"] = make("ar1", c1, a1, np.diag((nxt - (c1 + prev @ a1.T)).var(0)))
    c, a = _least_squares(prev, nxt)
    residual = nxt - (c + prev @ a.T)
    fitted["var1"] = make("var1", c, a, np.cov(residual, rowvar=False))
    return fitted


def baseline_nll(baseline: GaussianBaseline, held_out: Sequence[np.ndarray]) -> dict[str, Any]:
    """Mean data-space NLL per event over held-out segments (events 1..n-1 of each)."""
    scored = [-baseline.log_likelihood(s[:-1], s[1:]) for s in held_out if len(s) > 1]
    nll = np.concatenate(scored)
    return {"mean_nll": float(nll.mean()), "events": int(nll.size)}


# -- model scoring and dt calibration -------------------------------------------------------------


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    erf = np.frompyfunc(math.erf, 1, 1)
    values = np.asarray(erf(np.asarray(x, float) / math.sqrt(2.0)), dtype=float)
    return 0.5 * (1.0 + values)


def dt_pit(spec: ModelSpec, raw: np.ndarray, events: np.ndarray) -> np.ndarray:
    """PIT values ``F(dt)`` of each event under the dt marginal of its predicted mixture.

    ``raw (n, P)`` predicts ``events (n, D)``; the floor component is included. The data transform
    is monotone in dt, so the CDF in the network space is the CDF in seconds.
    """
    mu, sigma, logits = spec.mixture.split(np.asarray(raw, float))
    z0 = spec.transform.to_net(events)[:, 0].astype(float)  # (n,)
    weights = np.exp(log_softmax(logits)) * (1.0 - spec.floor_weight)  # (n, K)
    cdf = (weights * _normal_cdf((z0[:, None] - mu[..., 0]) / sigma[..., 0])).sum(1)
    return cdf + spec.floor_weight * _normal_cdf(z0 / spec.floor_sigma)


def coverage(pit: np.ndarray, levels: Sequence[float] = COVERAGE_LEVELS) -> dict[str, float]:
    """Fraction of PIT values inside each central interval (``"50"``: the central 50 %)."""
    return {
        f"{round(level * 100)}": round(float(np.mean(np.abs(pit - 0.5) <= level / 2)), 4)
        for level in levels
    }


@dataclass(frozen=True)
class ModelScore:
    """A model traced over held-out segments: mean NLL and the dt PIT values."""

    mean_nll: float
    events: int
    pit: np.ndarray

    def summary(self) -> dict[str, Any]:
        return {
            "mean_nll": round(self.mean_nll, 4),
            "events": self.events,
            "dt_coverage": coverage(self.pit),
        }


def score_model(runtime: Voice, held_out: Sequence[np.ndarray]) -> ModelScore:
    """Trace each held-out segment from a fresh state: NLL of every next event and its dt PIT."""
    nlls, pits = [], []
    for segment in held_out:
        if len(segment) < 2:
            continue
        raw, nll = trace_performance(runtime, segment)
        nlls.append(nll)
        pits.append(dt_pit(runtime.model.file.spec, raw[:-1], segment[1:]))
    nll = np.concatenate(nlls)
    return ModelScore(float(nll.mean()), int(nll.size), np.concatenate(pits))


def human_reference(train: Sequence[np.ndarray], held_out: Sequence[np.ndarray]) -> dict[str, Any]:
    """Distances between two human samples (training vs held-out): the floor a model can reach."""
    return distribution_distances(np.concatenate(list(train)), np.concatenate(list(held_out)))


# -- the command ----------------------------------------------------------------------------------


@register
@click.command("quality")
@click.argument("model", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("held_out", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--train-data",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Fit the baselines on this dataset [default: no baselines].",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def quality(model: Path, held_out: Path, train_data: Path | None, as_json: bool) -> None:
    """Held-out NLL of MODEL on HELD_OUT (.npz) against baselines, and its dt calibration."""
    runtime = load_voice(model, seed=0)
    data: Dataset = load_dataset(held_out)
    result: dict[str, Any] = {"model": model.name, "held_out": data.name}
    result["model_score"] = score_model(runtime, data.performances).summary()
    if train_data is not None:
        train_set = load_dataset(train_data).performances
        transform = DataTransform.fit(
            np.concatenate(train_set), runtime.model.file.spec.transform.dt_offset
        )
        fitted = fit_baselines(train_set, transform, runtime.model.file.spec)
        result["baselines"] = {
            name: baseline_nll(b, data.performances) for name, b in fitted.items()
        }
    if as_json:
        click.echo(json.dumps(result))
        return
    score = result["model_score"]
    click.echo(f"{model.name} on {data.name}: {score['mean_nll']:.4f} nats/event")
    click.echo(f"  dt coverage of central intervals: {score['dt_coverage']}")
    for name, b in result.get("baselines", {}).items():
        click.echo(f"  baseline {name}: {b['mean_nll']:.4f} nats/event")
