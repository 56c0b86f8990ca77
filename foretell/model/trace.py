"""Held-out scoring: run a voice one step at a time over each performance from a fresh state.

For a performance of ``n`` events the voice sees events ``0..n-2`` and scores events ``1..n-1``:
``nll[i] = -log p(x[i+1] | x[0..i])`` in the data space, in nats. ``raw[i]`` is the model's
prediction after input ``i`` (the dense MDRNN's raw mixture parameters,
``foretell.model.mixture``), so ``raw`` has ``n`` rows (the last predicts an event that is not in
the data). This is both the evaluation users run on their own data and the parity tool for imported
models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foretell.data.dataset import Dataset
from foretell.errors import DatasetError
from foretell.model.constraints import Constraints
from foretell.model.protocol import Voice


@dataclass(frozen=True)
class TraceResult:
    raw: list[np.ndarray]  # per performance (n, P)
    nll: list[np.ndarray]  # per performance (n - 1,)

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
        }

    def save(self, path: Path) -> None:
        def objects(arrays: list[np.ndarray]) -> np.ndarray:
            out = np.empty(len(arrays), dtype=object)
            for i, a in enumerate(arrays):
                out[i] = a
            return out

        np.savez_compressed(path, raw=objects(self.raw), nll=objects(self.nll))


def trace_performance(
    voice: Voice, performance: np.ndarray, constraints: Constraints | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions ``(n, P)`` and next-event NLLs ``(n-1,)`` for one performance (under
    ``constraints``: ``inf`` for an event outside a range, see ``foretell.model.constraints``)."""
    voice.reset()
    raw: np.ndarray | None = None
    for i, event in enumerate(performance):
        prediction = voice.observe(event)
        if raw is None:
            raw = np.empty((len(performance), prediction.size), dtype=prediction.dtype)
        raw[i] = prediction
    if raw is None:  # nothing played, nothing scored
        return np.empty((0, 0), dtype=np.float32), np.empty(0)
    return raw, -voice.model.log_likelihood(raw[:-1], performance[1:], constraints)


def trace_dataset(
    voice: Voice, dataset: Dataset, constraints: Constraints | None = None
) -> TraceResult:
    dimension = voice.model.dimension
    if dataset.dimension != dimension:
        raise DatasetError(
            f"{dataset.name} has dimension {dataset.dimension} but the model expects "
            f"{dimension} (dt + {dimension - 1} controls)"
        )
    raws, nlls = [], []
    for performance in dataset.performances:
        raw, nll = trace_performance(voice, performance, constraints)
        raws.append(raw)
        nlls.append(nll)
    return TraceResult(raws, nlls)
