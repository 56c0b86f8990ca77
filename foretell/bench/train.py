"""``foretell bench train``: wall time from nothing to the early-stopped best model, and quality.

Each run is a fresh ``foretell train ... --json`` process, timed from launch to exit (Python and
torch start-up, loading, training, saving the best model and its curves: everything a user waits
for). On LightPad 12k the same configuration is also trained for 100 epochs without early stopping;
its final validation NLL is what early stopping has to match. The 100k set is added when
``../shared/data/lightpad-100k.npz`` exists (or with ``--data``). This measures; it asserts nothing.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from foretell.bench.registry import register
from foretell.data.dataset import bundled_dataset_path
from foretell.errors import ForetellError

SHARED_100K = Path("..") / "shared" / "data" / "lightpad-100k.npz"


def timed_train(data: Path, out: Path, size: str, seed: int, *extra: str) -> dict[str, Any]:
    """Run ``foretell train`` in a new process; its JSON summary plus the process's wall time."""
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


def bench_dataset(data: Path, size: str, seed: int, reference_epochs: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="foretell-bench-") as tmp:
        result = {"data": data.name, **timed_train(data, Path(tmp) / "early.ftm", size, seed)}
        if reference_epochs:
            reference = Path(tmp) / "fixed.ftm"
            fixed = timed_train(
                data,
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
            }
            result["early_stopping_as_good"] = (
                result["best_val_nll"] <= result["fixed_epochs"]["final_val_nll"]
            )
    return result


@register
@click.command("train")
@click.option(
    "--data",
    "extra_data",
    type=click.Path(path_type=Path, exists=True),
    help=f"Another dataset to time [default: {SHARED_100K} if present].",
)
@click.option("--size", default="s", show_default=True)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--reference-epochs",
    default=100,
    show_default=True,
    type=click.IntRange(0),
    help="Also train 12k this many epochs without early stopping (0: skip).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train(
    extra_data: Path | None, size: str, seed: int, reference_epochs: int, as_json: bool
) -> None:
    """Time `foretell train` to the early-stopped best model (12k, and 100k when available)."""
    runs = [bench_dataset(bundled_dataset_path(), size, seed, reference_epochs)]
    other = extra_data if extra_data is not None else SHARED_100K
    if other.is_file():
        runs.append(bench_dataset(other, size, seed, None))
    result = {"size": size, "seed": seed, "cpus": os.cpu_count(), "runs": runs}
    if as_json:
        click.echo(json.dumps(result))
        return
    for run in runs:
        click.echo(
            f"{run['data']}: best val NLL {run['best_val_nll']:.4f} at epoch {run['best_epoch']} "
            f"of {run['epochs_run']}; {run['wall_seconds']:.1f} s wall from launch to saved model "
            f"({run['seconds_per_epoch']:.3f} s/epoch)"
        )
        if "fixed_epochs" in run:
            fixed = run["fixed_epochs"]
            click.echo(
                f"  {fixed['epochs']} epochs without early stopping: final val NLL "
                f"{fixed['final_val_nll']:.4f} (best {fixed['best_val_nll']:.4f}), "
                f"{fixed['wall_seconds']:.1f} s"
            )
