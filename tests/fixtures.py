"""Data shared by tests: the bundled performances (random models: ``foretell.model.random``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from foretell.data.dataset import bundled_dataset_path, load_dataset, save_dataset


def bundled_performances(limit: int = 400) -> list[np.ndarray]:
    """The first ``limit`` events of each bundled LightPad performance (real data, 4-D)."""
    dataset = load_dataset(bundled_dataset_path())
    return [p[:limit] for p in dataset.performances]


def small_dataset(path: Path, limit: int = 300) -> Path:
    """A small real dataset (``bundled_performances(limit)``) saved at ``path``: an xs model
    trains on it in about a second an epoch."""
    save_dataset(path, bundled_performances(limit))
    return path


def write_take(path: Path, performance: np.ndarray, model_every: int = 0) -> Path:
    """A performance log (IMPSY's format) of ``performance``'s ``(dt, controls)`` rows as the
    performer's, with a model row after every ``model_every``-th (0: none)."""
    start = dt.datetime(2024, 5, 1, 20, 15, 3)
    lines, elapsed = [], 0.0
    for index, (step, *controls) in enumerate(np.asarray(performance, dtype=np.float64)):
        elapsed += step
        stamp = (start + dt.timedelta(seconds=elapsed)).isoformat(timespec="microseconds")
        lines.append(",".join([stamp, "interface", *map(str, controls)]))
        if model_every and index % model_every == model_every - 1:
            lines.append(",".join([stamp, "rnn", *("0.5" for _ in controls)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def trained_knob_box(folder: Path, *options: str) -> Path:
    """A model ``foretell train`` writes in ``folder`` after one epoch at size xxs on a small
    knob box (``foretell.bench.instruments.knobs``: 400 events, 4 knobs), with ``options``."""
    from click.testing import CliRunner

    from foretell.bench.instruments import knobs
    from foretell.cli import cli

    data, out = folder / "knobs.npz", folder / "knobs.ftm"
    save_dataset(data, list(knobs(np.random.default_rng(0), 400, 2).performances))
    args = ["train", str(data), "--size", "xxs", "--epochs", "1", "--out", str(out), *options]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out
