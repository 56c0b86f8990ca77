"""``foretell bench predict``: the time of one performance step (predict + sample), NumPy vs torch.

A step is what a performance does for every event: feed the last event, get the mixture, draw the
next event. The NumPy dense voice (``foretell.model.runtime``) is timed over ``--steps`` steps
after a warm-up; in the same run, the same model in PyTorch does the same step one event at a time
with its state carried (``torch.no_grad``, default threads: what a user would otherwise write),
using the same sampler. Sampling alone is timed too, and ``peak_rss_mb`` is the peak RSS of a fresh
process that loads an s model and performs with it (``foretell.bench.memory``, which also adds
``bench memory``). Weights are random (a torch-initialised model when torch is present), which
costs exactly what trained weights cost. ``--constraints`` also times the step under the steering
constraints a performer would set (``STEERED``: a range, a held control, a dtrange), interleaved
step by step with the plain one so both see the same machine; the ratio of their medians is the
cost of steering. ``--moves`` times a moves model of the same LSTM shape (``moves_like``: every
control on MIDI's 7-bit grid with a flat share, every moving set named, a LightPad's layout at
``--dim 4``) against the dense one the same way, and ``--models A.ftm,B.ftm,...`` any model
files (a dense and a moves model trained on the same data, say), each against the first. This
measures; it asserts nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import click
import numpy as np

from foretell.bench.harness import bench_spec
from foretell.bench.memory import peak_rss
from foretell.bench.registry import register
from foretell.errors import ForetellError
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import MAX_PATTERNS, ControlKind, kinds_of, snap_to_cells
from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.moves import MovesModel
from foretell.model.moves_spec import MovesSpec, moves_spec
from foretell.model.protocol import Voice, load_voice
from foretell.model.random import uniform_weights
from foretell.model.runtime import DenseModel, DenseVoice

WARMUP = 200
STEERED = Constraints(ranges={0: (0.2, 0.6)}, holds={1: 0.5}, dt_range=(0.02, 0.5))
SEVEN_BIT = ControlKind("grid", origin=0.0, step=1 / 127, levels=128)


def _time_steps(
    step: Callable[[np.ndarray], np.ndarray], first: np.ndarray, steps: int
) -> np.ndarray:
    """Milliseconds per call of ``event = step(event)``, after a warm-up."""
    event = first
    for _ in range(WARMUP):
        event = step(event)
    times = np.empty(steps)
    clock = time.perf_counter_ns
    for i in range(steps):
        start = clock()
        event = step(event)
        times[i] = clock() - start
    return times / 1e6


def _time_interleaved(
    plain: Callable[[np.ndarray], np.ndarray],
    steered: Callable[[np.ndarray], np.ndarray],
    first: np.ndarray,
    steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per call of each step, the two alternating call by call (after a warm-up)."""
    a, b = _time_turns([plain, steered], [first, first], steps)
    return a, b


def _time_turns(
    turns: Sequence[Callable[[np.ndarray], np.ndarray]], firsts: Sequence[np.ndarray], steps: int
) -> list[np.ndarray]:
    """Milliseconds per call of each ``event = turn(event)``, the turns taken call by call
    (after a warm-up), so every one of them sees the same machine."""
    events = list(firsts)
    for _ in range(WARMUP):
        events = [turn(event) for turn, event in zip(turns, events, strict=True)]
    times = np.empty((len(turns), steps))
    clock = time.perf_counter_ns
    for i in range(steps):
        for t, turn in enumerate(turns):
            start = clock()
            events[t] = turn(events[t])
            times[t, i] = clock() - start
    return list(times / 1e6)


def _percentiles(prefix: str, times: np.ndarray) -> dict[str, float]:
    return {
        f"{prefix}p50_ms": round(float(np.percentile(times, 50)), 5),
        f"{prefix}p99_ms": round(float(np.percentile(times, 99)), 5),
        f"{prefix}mean_ms": round(float(times.mean()), 5),
    }


def _torch_step(
    model: ModelFile, runtime: DenseVoice
) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The step a user would write with the torch model (state carried, no_grad)."""
    import torch

    from foretell.model.torch_mdrnn import MDRNN

    net = MDRNN.from_model_file(model).eval()
    transform = model.spec.transform
    state: list[Any] = [None]

    def step(event: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = torch.from_numpy(transform.to_net(event)).view(1, 1, -1)  # (1, 1, D)
            raw, state[0] = net(z, state[0])  # (1, 1, P)
        return runtime.sample(raw[0, 0].numpy())

    return step, torch.get_num_threads()


def bench_steered(
    runtime: DenseVoice, steered: DenseVoice, first: np.ndarray, steps: int
) -> dict[str, Any]:
    """The plain and the constrained step side by side (two runtimes of one model)."""
    dimension = runtime.model.dimension
    constraints = STEERED if dimension > 2 else Constraints(ranges={0: (0.2, 0.6)})
    plain, constrained = _time_interleaved(
        lambda e: runtime.sample(runtime.observe(e)),
        lambda e: steered.sample(steered.observe(e), 1.0, 1.0, constraints),
        first,
        steps,
    )
    result = _percentiles("plain_", plain) | _percentiles("constrained_", constrained)
    result["constrained_ratio"] = round(result["constrained_p50_ms"] / result["plain_p50_ms"], 2)
    return result


def moves_like(dense: ModelSpec) -> MovesSpec:
    """A moves model of ``dense``'s shape: every control on MIDI's 7-bit grid with a flat share
    over all of it, and every moving set named (up to ``MAX_PATTERNS``; beyond, none and each
    control alone, the rest sharing the "other" slot)."""
    controls = dense.dimension - 1
    if 2**controls <= MAX_PATTERNS:
        patterns, other = tuple(range(2**controls)), False
    else:
        patterns, other = (0, *(1 << i for i in range(controls))), True
    return moves_spec(
        dense, (SEVEN_BIT,) * controls, patterns, other, ((0, SEVEN_BIT.levels - 1),) * controls
    )


def _playing(voice: Voice) -> Callable[[np.ndarray], np.ndarray]:
    return lambda event: voice.sample(voice.observe(event))


def _first_event(voice: Voice) -> np.ndarray:
    """A centred touch, on the controls' grids and sets where the model has them."""
    first = np.full(voice.model.dimension, 0.5)
    first[0] = 0.02
    kinds = kinds_of(voice.model.file.spec)
    return first if kinds is None else snap_to_cells(kinds, first)


def bench_side_by_side(voices: Sequence[Voice], steps: int) -> list[dict[str, Any]]:
    """Each voice's step (observe + sample) from a centred touch, the voices taking turns step
    by step; per voice its percentiles and ``ratio``, its p50 over the first one's."""
    times = _time_turns(
        [_playing(voice) for voice in voices], [_first_event(voice) for voice in voices], steps
    )
    rows: list[dict[str, Any]] = [
        {"kind": voice.model.kind, **_percentiles("", t)}
        for voice, t in zip(voices, times, strict=True)
    ]
    for row in rows:
        row["ratio"] = round(row["p50_ms"] / rows[0]["p50_ms"], 2)
    return rows


def bench_moves(
    model: ModelFile, steps: int, seed: int = 0, rng: np.random.Generator | None = None
) -> dict[str, Any]:
    """The dense ``model`` and a moves model of its shape (``moves_like``, random weights drawn
    from ``rng``) side by side: their p50 and the moves model's ratio to the dense one."""
    spec = moves_like(model.spec)
    weights = uniform_weights(spec, rng if rng is not None else np.random.default_rng(seed))
    voices: list[Voice] = [
        DenseModel(model).voice(np.random.default_rng(seed)),
        MovesModel(ModelFile(spec, weights, {"name": "bench-moves"})).voice(
            np.random.default_rng(seed)
        ),
    ]
    dense, moves = bench_side_by_side(voices, steps)
    return {
        "dense_side_p50_ms": dense["p50_ms"],
        "moves_p50_ms": moves["p50_ms"],
        "moves_p99_ms": moves["p99_ms"],
        "moves_ratio": moves["ratio"],
    }


def bench_predict(
    units: int,
    dimension: int,
    layers: int = 2,
    mixtures: int = 5,
    steps: int = 2000,
    seed: int = 0,
    constraints: bool = False,
    with_moves: bool = False,
) -> dict[str, Any]:
    """Time the NumPy step, sampling alone and the torch step (and with ``with_moves`` a moves
    model of the same shape against the dense one, ``bench_moves``); one dict of figures."""
    rng = np.random.default_rng(seed)
    spec = bench_spec(units, dimension, layers, mixtures)
    model = ModelFile(spec, uniform_weights(spec, rng), {"name": "bench"})
    dense = DenseModel(model)
    runtime = dense.voice(np.random.default_rng(seed))
    first = np.full(dimension, 0.5)
    first[0] = 0.02

    result: dict[str, Any] = {
        "units": units,
        "dim": dimension,
        "layers": layers,
        "mixtures": mixtures,
        "steps": steps,
        "parameters": spec.parameter_count(),
        "numpy_version": np.__version__,
    }
    result |= peak_rss(steps=steps)
    result |= _percentiles(
        "", _time_steps(lambda e: runtime.sample(runtime.observe(e)), first, steps)
    )
    raw = runtime.observe(first).copy()
    result |= _percentiles("sample_", _time_steps(lambda e: runtime.sample(raw), first, steps))
    if constraints:
        result |= bench_steered(runtime, dense.voice(np.random.default_rng(seed)), first, steps)
    if with_moves:
        result |= bench_moves(model, steps, seed, rng)
    try:
        torch_step, threads = _torch_step(model, runtime)
    except ImportError:
        result |= {
            "torch_p50_ms": None,
            "torch_p99_ms": None,
            "torch_mean_ms": None,
            "speedup": None,
            "note": "torch is not installed: no PyTorch comparison",
        }
        return result
    result |= _percentiles("torch_", _time_steps(torch_step, first, steps))
    result["torch_threads"] = threads
    result["speedup"] = round(result["torch_p50_ms"] / result["p50_ms"], 1)
    return result


@register
@click.command("predict")
@click.option("--units", default=64, show_default=True, type=click.IntRange(1))
@click.option("--dim", "dimension", default=4, show_default=True, type=click.IntRange(2))
@click.option("--layers", default=2, show_default=True, type=click.IntRange(1))
@click.option("--mixtures", default=5, show_default=True, type=click.IntRange(1))
@click.option("--steps", default=2000, show_default=True, type=click.IntRange(100))
@click.option("--constraints", is_flag=True, help="Also time the step under steering constraints.")
@click.option(
    "--voices",
    default="",
    help="Also time N voices' steps, alone and stacked, per kind (e.g. 2,4,16; bench.voices).",
)
@click.option(
    "--moves",
    "with_moves",
    is_flag=True,
    help="Also time a moves model of the same LSTM shape (every control on the 7-bit grid, "
    "every moving set named) against the dense one, the two taking turns step by step.",
)
@click.option(
    "--models",
    default="",
    help="Instead, time these model files' steps side by side, taking turns step by step, "
    "each against the first (e.g. dense.ftm,moves.ftm).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def predict(
    units: int,
    dimension: int,
    layers: int,
    mixtures: int,
    steps: int,
    constraints: bool,
    voices: str,
    with_moves: bool,
    models: str,
    as_json: bool,
) -> None:
    """Time one performance step (observe + sample) against the PyTorch model."""
    paths = [p.strip() for p in models.split(",") if p.strip()]
    if paths:
        _predict_files(paths, steps, as_json)
        return
    result = bench_predict(
        units, dimension, layers, mixtures, steps, constraints=constraints, with_moves=with_moves
    )
    counts = [int(n) for n in voices.split(",") if n.strip()]
    if counts:
        from foretell.bench.voices import bench_voices

        result["voices"] = bench_voices(counts, units, dimension, layers, mixtures)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{layers} x {units} LSTM, dim {dimension}, {mixtures} mixtures ({steps} steps): "
        f"p50 {result['p50_ms']:.4f} ms, p99 {result['p99_ms']:.4f} ms, "
        f"sampling alone p50 {result['sample_p50_ms']:.4f} ms"
    )
    click.echo(
        f"  peak RSS of a process that loads an s model and performs: "
        f"{result['peak_rss_mb']:.1f} MB (NumPy alone: {result['numpy_only_rss_mb']:.1f} MB)"
    )
    if counts:
        from foretell.bench.voices import describe

        click.echo("  one step of N voices, each alone and stacked:")
        click.echo("\n".join(describe(result["voices"])))
    if constraints:
        click.echo(
            f"  under constraints (range, hold, dtrange), interleaved with the plain step: "
            f"p50 {result['constrained_p50_ms']:.4f} ms against {result['plain_p50_ms']:.4f} ms "
            f"({result['constrained_ratio']}x)"
        )
    if with_moves:
        click.echo(
            f"  a moves model of this shape (7-bit grids, every moving set), interleaved with "
            f"the dense step: p50 {result['moves_p50_ms']:.4f} ms against "
            f"{result['dense_side_p50_ms']:.4f} ms ({result['moves_ratio']}x)"
        )
    if result["torch_p50_ms"] is None:
        click.echo(f"  {result['note']}")
    else:
        click.echo(
            f"  PyTorch one step at a time: p50 {result['torch_p50_ms']:.4f} ms, "
            f"p99 {result['torch_p99_ms']:.4f} ms ({result['speedup']}x slower)"
        )


def _predict_files(paths: Sequence[str], steps: int, as_json: bool) -> None:
    """``--models``: the files' steps side by side (``bench_side_by_side``)."""
    try:
        voices = [load_voice(path, seed=0) for path in paths]
    except (OSError, ForetellError) as error:
        raise click.ClickException(f"{error}") from None
    rows = [
        {"model": path, **row}
        for path, row in zip(paths, bench_side_by_side(voices, steps), strict=True)
    ]
    if as_json:
        click.echo(json.dumps({"steps": steps, "models": rows}))
        return
    click.echo(f"one step (observe + sample), the models taking turns ({steps} steps):")
    for row in rows:
        click.echo(
            f"  {row['model']} ({row['kind']}): p50 {row['p50_ms']:.4f} ms, "
            f"p99 {row['p99_ms']:.4f} ms ({row['ratio']}x the first)"
        )
