"""Held-out scoring: run the runtime one step at a time over each performance from a fresh state.

For a performance of ``n`` events the runtime sees events ``0..n-2`` and scores events ``1..n-1``:
``nll[i] = -log p(x[i+1] | x[0..i])`` in the data space, in nats. ``raw[i]`` is the network's raw
output after input ``i`` (layout in ``foretell.model.mixture``), so ``raw`` has ``n`` rows (the last
predicts an event that is not in the data). This is both the evaluation users run on their own
data and the parity tool for imported models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError, DatasetError
from foretell.model import constraints as steering
from foretell.model import moves
from foretell.model.basis import dense_cells_log_likelihood
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import ControlKind, detect_kinds
from foretell.model.runtime import Runtime

Basis = Literal["density", "cells"]


@dataclass(frozen=True)
class TraceResult:
    raw: list[np.ndarray]  # per performance (n, P)
    nll: list[np.ndarray]  # per performance (n - 1,)
    basis: Basis = "density"  # what a discrete control's term is (``foretell.model.basis``)

    def summary(self) -> dict[str, Any]:
        """Mean and median NLL over the scored events; events outside a constraint's range
        (infinite NLL) are counted apart, not averaged."""
        everything = np.concatenate(self.nll) if self.nll else np.empty(0)
        scored = everything[np.isfinite(everything)]
        return {
            "mean_nll": float(scored.mean()) if scored.size else float("nan"),
            "median_nll": float(np.median(scored)) if scored.size else float("nan"),
            "events": int(scored.size),
            "outside": int(everything.size - scored.size),
            "performances": len(self.nll),
            "nll_basis": self.basis,
        }

    def save(self, path: Path) -> None:
        def objects(arrays: list[np.ndarray]) -> np.ndarray:
            out = np.empty(len(arrays), dtype=object)
            for i, a in enumerate(arrays):
                out[i] = a
            return out

        np.savez_compressed(path, raw=objects(self.raw), nll=objects(self.nll))


def trace_performance(
    runtime: Runtime,
    performance: np.ndarray,
    constraints: Constraints | None = None,
    cells: Sequence[ControlKind] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs ``(n, P)`` and next-event NLLs ``(n-1,)`` for one performance (under
    ``constraints``: ``inf`` for an event outside a range, see ``foretell.model.constraints``).

    A moves model scores on the common basis with its own kinds; a dense model does when given
    ``cells`` (the kinds whose discrete controls are scored by their cells' probability)."""
    runtime.reset()
    spec = runtime.spec
    raw = np.empty((len(performance), spec.head_params), dtype=np.float32)
    for i, event in enumerate(performance):
        raw[i] = runtime.predict(event)
    active = constraints is not None and constraints.active
    if spec.controls is not None:
        if active:
            raise ConfigError("a moves model is scored without --hold, --range or --dtrange")
        return raw, -moves.performance_log_likelihood(spec, raw, performance)
    if cells is not None and any(kind.discrete for kind in cells):
        if active:
            raise ConfigError("the cells basis is scored without --hold, --range or --dtrange")
        return raw, -dense_cells_log_likelihood(spec, raw[:-1], performance[1:], cells)
    if constraints is None or not constraints.active:
        return raw, -runtime.log_likelihood(raw[:-1], performance[1:])
    plan = steering.plan(runtime.spec, constraints)
    log_p = [
        steering.log_likelihood(runtime.spec, r, event, plan)
        for r, event in zip(raw[:-1], performance[1:], strict=True)
    ]
    return raw, -np.array(log_p)


def trace_dataset(
    runtime: Runtime,
    dataset: Dataset,
    constraints: Constraints | None = None,
    cells: Sequence[ControlKind] | None = None,
) -> TraceResult:
    """Every performance of ``dataset`` traced (``trace_performance``); the result says its
    ``basis``: ``cells`` where a discrete control was scored by its cell, else ``density``."""
    if dataset.dimension != runtime.spec.dimension:
        raise DatasetError(
            f"{dataset.name} has dimension {dataset.dimension} but the model expects "
            f"{runtime.spec.dimension} (dt + {runtime.spec.dimension - 1} controls)"
        )
    raws, nlls = [], []
    for performance in dataset.performances:
        raw, nll = trace_performance(runtime, performance, constraints, cells)
        raws.append(raw)
        nlls.append(nll)
    kinds = runtime.spec.controls if runtime.spec.controls is not None else cells
    discrete = kinds is not None and any(kind.discrete for kind in kinds)
    return TraceResult(raws, nlls, "cells" if discrete else "density")


def basis_kinds(
    runtime: Runtime, dataset: Dataset, basis: str, reference: Runtime | None = None
) -> tuple[ControlKind, ...] | None:
    """The kinds a dense model is scored with: ``density`` none; ``cells`` those of
    ``reference`` (a moves model) when given, else those detected in ``dataset``; ``auto``
    ``cells`` for a moves model (its own), ``density`` for a dense one."""
    if runtime.spec.controls is not None:
        if basis == "density":
            raise ConfigError(
                "a moves model scores its discrete controls by cell: use --basis cells"
            )
        return runtime.spec.controls
    if basis != "cells":
        return None
    if reference is not None and reference.spec.controls is not None:
        return reference.spec.controls
    return detect_kinds(np.concatenate(dataset.performances))
