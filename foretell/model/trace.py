"""Held-out scoring: run a voice one step at a time over each performance from a fresh state.

For a performance of ``n`` events the voice sees events ``0..n-2`` and scores events ``1..n-1``:
``nll[i] = -log p(x[i+1] | x[0..i])`` in the data space, in nats. ``raw[i]`` is the model's
prediction after input ``i`` (the dense MDRNN's raw mixture parameters,
``foretell.model.mixture``), so ``raw`` has ``n`` rows (the last predicts an event that is not in
the data). This is both the evaluation users run on their own data and the parity tool for imported
models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError, DatasetError
from foretell.model.basis import dense_cells_log_likelihood
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import ControlKind, detect_kinds, kinds_of
from foretell.model.protocol import Model, Voice
from foretell.model.runtime import DenseModel

Basis = Literal["density", "cells"]


@dataclass(frozen=True)
class TraceResult:
    raw: list[np.ndarray]  # per performance (n, P)
    nll: list[np.ndarray]  # per performance (n - 1,)
    basis: Basis = "density"  # how discrete controls were scored (``foretell.model.basis``)

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
    voice: Voice,
    performance: np.ndarray,
    constraints: Constraints | None = None,
    cells: Sequence[ControlKind] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions ``(n, P)`` and next-event NLLs ``(n-1,)`` for one performance (under
    ``constraints``: ``inf`` for an event outside a range, see ``foretell.model.constraints``).
    A dense model given ``cells`` scores their discrete controls by cell (``foretell.model.basis``);
    a moves model always does, with its own kinds."""
    voice.reset()
    raw: np.ndarray | None = None
    for i, event in enumerate(performance):
        prediction = voice.observe(event)
        if raw is None:
            raw = np.empty((len(performance), prediction.size), dtype=prediction.dtype)
        raw[i] = prediction
    if raw is None:  # nothing played, nothing scored
        return np.empty((0, 0), dtype=np.float32), np.empty(0)
    model = voice.model
    if isinstance(model, DenseModel) and cells is not None and any(k.discrete for k in cells):
        if constraints is not None and constraints.active:
            raise ConfigError("the cells basis is scored without --hold, --range or --dtrange")
        return raw, -dense_cells_log_likelihood(model.spec, raw[:-1], performance[1:], cells)
    return raw, -model.log_likelihood(raw[:-1], performance[1:], constraints)


def trace_dataset(
    voice: Voice,
    dataset: Dataset,
    constraints: Constraints | None = None,
    cells: Sequence[ControlKind] | None = None,
) -> TraceResult:
    """Every performance traced (``trace_performance``); the result says its basis."""
    dimension = voice.model.dimension
    if dataset.dimension != dimension:
        raise DatasetError(
            f"{dataset.name} has dimension {dataset.dimension} but the model expects "
            f"{dimension} (dt + {dimension - 1} controls)"
        )
    raws, nlls = [], []
    for performance in dataset.performances:
        raw, nll = trace_performance(voice, performance, constraints, cells)
        raws.append(raw)
        nlls.append(nll)
    return TraceResult(raws, nlls, basis_of(voice.model, cells))


def basis_of(model: Model, cells: Sequence[ControlKind] | None) -> Basis:
    """``cells`` where some discrete control is scored by its cell, else ``density``."""
    if model_kinds(model) is not None:
        return "cells"
    dense_on_cells = isinstance(model, DenseModel) and cells is not None
    return "cells" if dense_on_cells and any(k.discrete for k in cells or ()) else "density"


def model_kinds(model: Model) -> tuple[ControlKind, ...] | None:
    """A moves model's control kinds (``None`` for any other kind)."""
    return kinds_of(model.file.spec)


def basis_kinds(
    model: Model, dataset: Dataset, basis: str, reference: Model | None = None
) -> tuple[ControlKind, ...] | None:
    """The kinds a dense model is scored with under ``basis``: ``density`` none; ``cells`` those
    of ``reference`` (a moves model) when given, else those detected in ``dataset``; ``auto``
    none. A moves model always scores its own (``density`` is refused)."""
    own = model_kinds(model)
    if own is not None:
        if basis == "density":
            raise ConfigError(
                "a moves model scores its grid and set controls by cell: use --basis cells"
            )
        return own
    if basis != "cells":
        return None
    if reference is not None and model_kinds(reference) is not None:
        return model_kinds(reference)
    return detect_kinds(np.concatenate(dataset.performances))
