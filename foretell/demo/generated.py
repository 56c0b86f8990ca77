"""The demo's model playing on its own: generate, summarise and plot what it did.

``generate_demo`` runs a generated performance from a model file and writes it as CSV and a PNG
plot (controls over time); ``summarise`` turns the result into a few lines for the CLI to print;
``expected_training_seconds`` is what the demo tells the user to expect before it trains.
Other steps (OSC output, a dashboard) compose with these; nothing here prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foretell.model.generate import generate_performance, write_performance_csv
from foretell.model.protocol import load_voice
from foretell.plotting import pyplot_or_none, save_figure

log = logging.getLogger(__name__)


# The estimate's constants, fitted to ``foretell bench train`` on the 2-core machine class this
# project runs on: seconds of training per event at 64 units (bfloat16, validation included),
# the fixed start-up share (Python, torch, loading, saving, the curve plot's child), the second
# thread's gain and float32's cost where the LSTM cannot run in bfloat16. The runs they come
# from: docs/evaluation/choices.md, "The demo's estimate".
SECONDS_PER_EVENT_64_UNITS = 9e-6
STARTUP_S = 1.6
SECOND_THREAD_SPEEDUP = 1.17
FLOAT32_COST = 1.3


def expected_training_seconds(
    events: int, units: int, epochs: int, threads: int, bfloat16: bool = True
) -> float:
    """Wall time to expect from launch to saved model on this machine class (quiet CPUs)."""
    width = max(1.0, (units / 64) ** 2)  # the recurrent products grow with units squared
    speedup = SECOND_THREAD_SPEEDUP if threads > 1 else 1.0
    cost = SECONDS_PER_EVENT_64_UNITS * (1.0 if bfloat16 else FLOAT32_COST)
    return STARTUP_S + epochs * events * cost * width / speedup


@dataclass(frozen=True)
class DemoRun:
    model_path: Path
    model_info: dict[str, object]
    performance: np.ndarray  # (steps, D) data space
    csv_path: Path
    png_path: Path | None


def generate_demo(model_path: Path, out_dir: Path, steps: int, seed: int) -> DemoRun:
    """Generate ``steps`` events from the model and write ``performance.csv`` and ``.png``."""
    runtime = load_voice(model_path, seed=seed)
    performance = generate_performance(runtime, steps)
    csv_path = out_dir / "demo-performance.csv"
    write_performance_csv(csv_path, performance)
    png_path = plot_performance(out_dir / "demo-performance.png", performance)
    return DemoRun(model_path, runtime.model.file.info, performance, csv_path, png_path)


def plot_performance(path: Path, performance: np.ndarray, title: str = "") -> Path | None:
    """Controls against time (one line each); ``None`` when matplotlib is missing."""
    plt = pyplot_or_none("performance plot")
    if plt is None:
        return None
    time = np.cumsum(performance[:, 0])
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    for column in range(1, performance.shape[1]):
        ax.plot(time, performance[:, column], ".", markersize=2, label=f"x{column}")
    ax.set(
        xlabel="time (s)",
        ylabel="control value",
        ylim=(-0.05, 1.05),
        title=title or "generated performance",
    )
    ax.legend(loc="upper right", markerscale=4)
    return save_figure(plt, fig, path)


def summarise(run: DemoRun, reused: bool) -> list[str]:
    """A compact human summary of the model and the performance it generated."""
    info, perf = run.model_info, run.performance
    dt = perf[:, 0]
    how = "reused" if reused else f"trained in {float(str(info.get('train_seconds', 0))):.1f} s"
    lines = [
        f"model: {run.model_path} ({how}; validation NLL "
        f"{float(str(info.get('best_val_nll', 'nan'))):.3f} nats/event at epoch "
        f"{info.get('best_epoch', '?')})",
        f"played {len(perf)} events over {dt.sum():.1f} s: median interval "
        f"{1000 * np.median(dt):.1f} ms, longest {dt.max():.2f} s",
    ]
    for column in range(1, perf.shape[1]):
        values = perf[:, column]
        lines.append(
            f"  x{column}: mean {values.mean():.2f}, range {values.min():.2f}-{values.max():.2f}"
        )
    lines.append(f"wrote {run.csv_path}" + (f" and {run.png_path}" if run.png_path else ""))
    return lines
