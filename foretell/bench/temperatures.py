"""``foretell bench temperatures``: generated performances over a grid of π and σ temperatures.

The paper's Fig. 10: the model plays on its own (fed its own samples, from a fresh state) at each
(π, σ) pair, and each performance is drawn as a touch trace (x and y over time, pressure as line
width) beside a real human performance of the same length. ``temperature_grid`` also scores each
pair by how close its events' distributions are to held-out human playing (see
``foretell.bench.quality``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
from tqdm import tqdm

from foretell.bench import quality
from foretell.bench.registry import register
from foretell.model.fileformat import ModelFile
from foretell.model.generate import generate_performance
from foretell.model.protocol import Voice, build_model

DISPLAY_PI = (0.5, 1.0, 1.5)
DISPLAY_SIGMA = (0.01, 0.1, 0.5, 1.0)
TRACE_SECONDS = 12.0


def generate_seconds(
    runtime: Voice, seconds: float, pi_temp: float, sigma_temp: float, max_steps: int = 20000
) -> np.ndarray:
    """A generated performance lasting about ``seconds`` (up to the first event past it).

    Tries 256 steps, then 4x more (from a fresh state each time) until the performance is long
    enough, so a fast-playing temperature does not cost ``max_steps`` steps up front.
    """
    steps = 256
    while True:
        events = generate_performance(runtime, steps, pi_temp, sigma_temp)
        ends = np.cumsum(events[:, 0])
        if ends[-1] >= seconds or steps >= max_steps:
            return events[: max(int(np.searchsorted(ends, seconds, side="right")), 2)]
        steps = min(4 * steps, max_steps)


def human_excerpt(performances: Sequence[np.ndarray], seconds: float) -> np.ndarray:
    """The busiest ``seconds`` of the longest performance (a real player, for comparison)."""
    longest = np.asarray(max(performances, key=len), dtype=float)
    ends = np.cumsum(longest[:, 0])
    stops = np.searchsorted(ends, ends + seconds, side="right")  # first event past each window
    start = int(np.argmax(stops - np.arange(len(ends))))
    return longest[start + 1 : stops[start]]


def display_traces(
    model: ModelFile,
    pi_temps: Sequence[float],
    sigma_temps: Sequence[float],
    seconds: float,
    seed: int = 0,
    progress: bool = False,
) -> dict[tuple[float, float], np.ndarray]:
    """One performance of ``seconds`` per (π, σ) pair, each from its own seeded generator."""
    pairs = [(p, s) for p in pi_temps for s in sigma_temps]
    traces, built = {}, build_model(model)
    for i, (p, s) in enumerate(tqdm(pairs, desc="temperature traces", disable=not progress)):
        runtime = built.voice(np.random.default_rng(seed + i))
        traces[(p, s)] = generate_seconds(runtime, seconds, p, s)
    return traces


def temperature_grid(
    model: ModelFile,
    human: np.ndarray,
    pi_temps: Sequence[float],
    sigma_temps: Sequence[float],
    steps: int,
    runs: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], dict[tuple[float, float], np.ndarray]]:
    """Distances of generated events (``runs`` x ``steps`` per pair) to human events ``(n, D)``.

    Returns one record per pair (best first by mean KS) and the generated events per pair.
    """
    pairs = [(p, s) for p in pi_temps for s in sigma_temps]
    records, samples, built = [], {}, build_model(model)
    for i, (p, s) in enumerate(tqdm(pairs, desc="temperature grid", disable=not progress)):
        runtime = built.voice(np.random.default_rng(seed + 1000 + i))
        events = np.concatenate([generate_performance(runtime, steps, p, s) for _ in range(runs)])
        samples[(p, s)] = events
        records.append(
            {"pi_temp": p, "sigma_temp": s, **quality.distribution_distances(events, human)}
        )
    records.sort(key=lambda r: r["mean_ks"])
    return records, samples


@register
@click.command("temperatures")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Model to play [default: train an s model on the bundled LightPad 12k set first].",
)
@click.option(
    "--human",
    "human_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Human performances (.npz) to compare with [default: the bundled LightPad 12k set].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("temperatures-out"),
    show_default=True,
)
@click.option("--seconds", default=TRACE_SECONDS, show_default=True, help="Length of each trace.")
@click.option("--steps", default=3000, show_default=True, help="Events per pair for distances.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def temperatures(
    model_path: Path | None,
    human_path: Path | None,
    out: Path,
    seconds: float,
    steps: int,
    seed: int,
    as_json: bool,
) -> None:
    """Draw generated performances at a grid of π/σ temperatures beside a human one (Fig. 10)."""
    from foretell.bench.figures import plot_touch_traces
    from foretell.data.dataset import bundled_dataset_path, load_dataset
    from foretell.model.fileformat import load_model

    human_set = load_dataset(human_path or bundled_dataset_path())
    if model_path is not None:
        model = load_model(model_path)
    else:
        from foretell.bench.quiet_training import train_quietly

        click.echo("no --model: training an s model on the bundled LightPad 12k set", err=True)
        model = train_quietly(human_set, units=64).model
    traces = display_traces(model, DISPLAY_PI, DISPLAY_SIGMA, seconds, seed, progress=True)
    human = human_excerpt(human_set.performances, seconds)
    figure = plot_touch_traces(traces, human, out / "temperatures.png")
    records, _ = temperature_grid(
        model,
        np.concatenate(human_set.performances),
        DISPLAY_PI,
        DISPLAY_SIGMA,
        steps,
        seed=seed,
        progress=True,
    )
    result = {"figure": str(figure), "grid": records}
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"wrote {figure}")
    for r in records:
        click.echo(
            f"  pi {r['pi_temp']:<5g} sigma {r['sigma_temp']:<5g} mean KS {r['mean_ks']:.3f} "
            f"(dt KS {r['dt']['ks']:.3f})"
        )
