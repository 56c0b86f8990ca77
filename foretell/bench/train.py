"""``foretell bench train``: wall time from nothing to the saved model, and its test NLL.

The test set is held out first (``foretell.train.batches.split_test``: whole performances on the
100k set, the tail of each performance on 12k) and written aside; each run is then a fresh
``foretell train ... --json`` process on the rest, timed from launch to exit (Python and torch
start-up, loading, training, saving the best model and its curves: everything a user waits for),
and the saved model is scored on the test set, overall and per performance. Validation, inside
training, alone decides when to stop. ``--sizes`` times several presets, so the output says what
each costs. The 100k set is added when ``../shared/data/lightpad-100k.npz`` exists (or with
``--data``). ``--reference-epochs N`` also trains 12k N epochs without early stopping.
``--beside-busy N`` times the first size on 12k N times alternately quiet and beside one
CPU-bound process (a busy loop started for the run), and gives the medians and their ratio.
This measures; it asserts nothing.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from foretell.bench.registry import register
from foretell.data.dataset import bundled_dataset_path, load_dataset, save_dataset
from foretell.errors import ConfigError, ForetellError
from foretell.model.fileformat import SIZE_PRESETS
from foretell.train.batches import TestSplit, split_test

SHARED_100K = Path("..") / "shared" / "data" / "lightpad-100k.npz"


def timed_train(
    data: Path, out: Path, size: str, seed: int, *extra: str, dense: bool = True
) -> dict[str, Any]:
    """Run ``foretell train`` in a new process; its JSON summary plus the process's wall time.
    ``dense``: the dense model these benchmarks have always measured (``--dense``); without it
    the kinds ``foretell train`` picks from the data."""
    command = [
        sys.executable,
        "-m",
        "foretell",
        "train",
        str(data),
        "--size",
        size,
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--json",
        *(["--dense"] if dense else []),
        *extra,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise ForetellError(f"training {data.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_seconds": round(wall, 2), **summary}


def final_val_nll(model: Path) -> float:
    """The last epoch's validation NLL from the loss curves written beside ``model``."""
    from foretell.train.curves import curve_paths

    with curve_paths(model)[0].open() as handle:
        rows = list(csv.DictReader(handle))
    return float(rows[-1]["val_nll"])


def test_score(model_path: Path, split: TestSplit) -> dict[str, Any]:
    """The saved model's NLL on the test performances it never trained or stopped on."""
    from foretell.model.fileformat import load_model
    from foretell.train.loop import held_out_nll

    score = held_out_nll(load_model(model_path), split.test)
    return {
        "test_nll": round(score.nll, 4),
        "test_nll_per_performance": [round(x, 3) for x in score.per_performance],
        "test_performances": len(score.per_performance),
        "test_events": score.events,
        "test_by": split.by,
    }


def bench_dataset(
    data: Path,
    size: str,
    seed: int,
    reference_epochs: int | None,
    extra: Sequence[str] = (),
    keep: Path | None = None,
) -> dict[str, Any]:
    """Hold out the test set, time ``foretell train`` on the rest, score the saved model.

    ``extra`` options go to ``foretell train``; with ``keep``, the model is also copied there.
    """
    split = split_test(load_dataset(data))
    with tempfile.TemporaryDirectory(prefix="foretell-bench-") as tmp:
        trainable = Path(tmp) / f"{data.stem}-trainable.npz"
        save_dataset(trainable, list(split.trainable.performances))
        early = Path(tmp) / "early.ftm"
        timed = timed_train(trainable, early, size, seed, *extra)
        result = {"data": data.name, "size": size, **timed, **test_score(early, split)}
        if keep is not None:
            shutil.copyfile(early, keep)
        if reference_epochs:
            reference = Path(tmp) / "fixed.ftm"
            fixed = timed_train(
                trainable,
                reference,
                size,
                seed,
                "--epochs",
                str(reference_epochs),
                "--patience",
                str(reference_epochs + 1),
            )
            result["fixed_epochs"] = {
                "epochs": reference_epochs,
                "final_val_nll": final_val_nll(reference),
                "best_val_nll": fixed["best_val_nll"],
                "wall_seconds": fixed["wall_seconds"],
                **test_score(reference, split),
            }
    return result


BUSY_LOOP = "while True: pass"


def time_beside_busy(
    data: Path, size: str, seed: int, runs: int, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Wall time of ``foretell train`` quiet and beside one CPU-bound process, alternately
    (``extra``: more options for ``foretell train``)."""
    quiet: list[float] = []
    busy: list[float] = []
    with tempfile.TemporaryDirectory(prefix="foretell-bench-busy-") as tmp:
        out = Path(tmp) / "m.ftm"
        for _ in range(runs):
            quiet.append(timed_train(data, out, size, seed, *extra)["wall_seconds"])
            burner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
            try:
                time.sleep(0.5)  # the burner is running before training starts
                busy.append(timed_train(data, out, size, seed, *extra)["wall_seconds"])
            finally:
                burner.kill()
                burner.wait()
    median_quiet, median_busy = statistics.median(quiet), statistics.median(busy)
    return {
        "data": data.name,
        "size": size,
        "quiet_s": quiet,
        "busy_s": busy,
        "median_quiet_s": round(median_quiet, 2),
        "median_busy_s": round(median_busy, 2),
        "ratio": round(median_busy / median_quiet, 2),
    }


def describe(run: dict[str, Any]) -> list[str]:
    """A run in two lines: what it cost, how it stopped and how it scored on test data."""
    lines = [
        f"{run['data']}, size {run['size']}: {run['wall_seconds']:.1f} s wall from launch to "
        f"saved model ({run['epochs_run']} epochs, {run['seconds_per_epoch']:.3f} s/epoch); "
        f"test NLL {run['test_nll']:.3f} nats/event on {run['test_performances']} held-out "
        f"{'performances' if run['test_by'] == 'performance' else 'performance tails'} "
        f"({min(run['test_nll_per_performance']):.2f} to "
        f"{max(run['test_nll_per_performance']):.2f}); best val NLL {run['best_val_nll']:.3f} "
        f"at epoch {run['best_epoch']}",
        f"  {run['ending']}",
    ]
    if "fixed_epochs" in run:
        fixed = run["fixed_epochs"]
        lines.append(
            f"  {fixed['epochs']} epochs without early stopping: final val NLL "
            f"{fixed['final_val_nll']:.4f}, test NLL {fixed['test_nll']:.3f}, "
            f"{fixed['wall_seconds']:.1f} s"
        )
    return lines


@register
@click.command("train")
@click.option(
    "--data",
    "extra_data",
    type=click.Path(path_type=Path, exists=True),
    help=f"Another dataset to time [default: {SHARED_100K} if present].",
)
@click.option(
    "--sizes",
    default="s",
    show_default=True,
    help="Comma-separated size presets to time (e.g. xs,s,m,l).",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--reference-epochs",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Also train 12k this many epochs without early stopping (0: skip).",
)
@click.option(
    "--beside-busy",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Also time 12k this many times quiet and beside one CPU-bound process (0: skip).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train(
    extra_data: Path | None,
    sizes: str,
    seed: int,
    reference_epochs: int,
    beside_busy: int,
    as_json: bool,
) -> None:
    """Time `foretell train` to the saved model and score it on held-out test data (12k, and
    100k when available), once per size."""
    chosen = [name.strip() for name in sizes.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SIZE_PRESETS]
    if unknown or not chosen:
        raise ConfigError(f"unknown size {unknown[:1]} (choose from {', '.join(SIZE_PRESETS)})")
    other = extra_data if extra_data is not None else SHARED_100K
    datasets = [bundled_dataset_path()] + ([other] if other.is_file() else [])
    runs = [
        bench_dataset(data, size, seed, reference_epochs if index == 0 else None)
        for size in chosen
        for index, data in enumerate(datasets)
    ]
    result: dict[str, Any] = {
        "sizes": chosen,
        "seed": seed,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
    if beside_busy:
        data = bundled_dataset_path()
        result["beside_busy"] = time_beside_busy(data, chosen[0], seed, beside_busy)
    if as_json:
        click.echo(json.dumps(result))
        return
    for run in runs:
        for line in describe(run):
            click.echo(line)
    if beside_busy:
        busy = result["beside_busy"]
        click.echo(
            f"{busy['data']}, size {busy['size']}, {beside_busy} runs each: median "
            f"{busy['median_quiet_s']:.1f} s quiet, {busy['median_busy_s']:.1f} s beside one "
            f"CPU-bound process ({busy['ratio']:.2f}x)"
        )
