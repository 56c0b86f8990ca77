"""The step of N voices of one model, each stepped alone against one stacked step for all
(``Model.step``'s stacking: ``foretell.model.runtime.step_together`` for the dense model,
``foretell.model.moves.step_together`` for the moves model), for ``foretell bench predict
--voices``. The moves model has the dense model's LSTM shape and every control on MIDI's 7-bit
grid, moved one at a time (a knob box). Weights are random (uniform, PyTorch's initialisation):
a step costs what a trained model's costs. It measures; it asserts nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from foretell.bench.harness import bench_spec
from foretell.model import moves, runtime
from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelFile
from foretell.model.moves_spec import MovesSpec
from foretell.model.random import uniform_weights

KNOB = ControlKind("grid", origin=0.0, step=1 / 127, levels=128)
REPEATS = 1000


def bench_models(units: int, dimension: int, layers: int, mixtures: int) -> dict[str, Any]:
    """The dense model and a moves model of one LSTM shape (seeded random weights)."""
    dense = bench_spec(units, dimension, layers, mixtures)
    controls = dimension - 1
    spec = MovesSpec(
        **{f: getattr(dense, f) for f in ("dimension", "layers", "units", "mixtures")},
        transform=dense.transform,
        controls=(KNOB,) * controls,
        patterns=(0, *(1 << i for i in range(controls))),
        other_patterns=True,
    )
    rng = np.random.default_rng(0)
    return {
        "dense": runtime.DenseModel(ModelFile(dense, uniform_weights(dense, rng))),
        "moves": moves.MovesModel(ModelFile(spec, uniform_weights(spec, rng))),
    }


def _median_us(step: Callable[[], object], repeats: int) -> float:
    for _ in range(repeats // 10):
        step()
    samples = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter_ns()
        step()
        samples[i] = time.perf_counter_ns() - start
    return float(np.median(samples) / 1e3)


def _steps(model: Any, n: int, dimension: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """N voices of ``model`` and two ways to step them all: one by one, and stacked."""
    voices = [model.voice(np.random.default_rng(i)) for i in range(n)]
    events = [np.r_[0.03, (np.arange(dimension - 1) + i) % 127 / 127] for i in range(n)]

    def separate() -> None:
        for voice, event in zip(voices, events, strict=True):
            voice.observe(event)

    def stacked() -> None:
        if isinstance(model, moves.MovesModel):
            moves.step_together(model, voices, events)
        else:
            runtime.step_together(model, voices, events)

    return separate, stacked


def bench_voices(
    counts: Sequence[int],
    units: int,
    dimension: int,
    layers: int = 2,
    mixtures: int = 5,
    repeats: int = REPEATS,
) -> list[dict[str, Any]]:
    """Per kind and voice count: median µs of N ``observe`` calls and of one stacked step of N
    (the two interleaved run by run, so both see the same machine), and their ratio."""
    rows = []
    for kind, model in bench_models(units, dimension, layers, mixtures).items():
        for n in counts:
            separate, stacked = _steps(model, n, dimension)
            alone, batched = [], []
            for _ in range(5):
                alone.append(_median_us(separate, repeats // 5))
                batched.append(_median_us(stacked, repeats // 5))
            a, b = float(np.median(alone)), float(np.median(batched))
            rows.append(
                {
                    "kind": kind,
                    "voices": n,
                    "separate_us": round(a, 1),
                    "stacked_us": round(b, 1),
                    "speedup": round(a / b, 2),
                }
            )
    return rows


def describe(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per row, as ``bench predict --voices`` prints them."""
    return [
        f"  {r['kind']:>5} x {r['voices']:>3} voices: separate {r['separate_us']:.1f} µs, "
        f"stacked {r['stacked_us']:.1f} µs ({r['speedup']}x)"
        for r in rows
    ]
