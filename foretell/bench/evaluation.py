"""``foretell bench all``: the whole evaluation on the machine at hand, as figures and numbers.

Parts (each also has its own command: ``bench train``, ``bench predict``, ``bench live``,
``bench temperatures``, ``bench quality``):

1. ``training``: train and validation NLL per epoch for each size on LightPad 12k and 100k (the
   paper's Figs. 6, 7), early stopping marked, wall time to best, and the paper's observation
   (which sizes overfit the small set) checked in words.
2. ``prediction``: time per step vs dimension and vs units (Figs. 8, 9), NumPy runtime and the
   PyTorch one-step in the same run (``foretell.bench.predict.bench_predict``).
3. ``live``: OSC round-trip histogram and timing errors of scheduled events, measured from outside
   (``foretell.bench.harness``'s engine process, client and sidecar log).
4. ``temperatures``: generated touch traces at a π/σ grid beside a human one (Fig. 10).
5. ``quality``: held-out NLL per size against baselines, dt calibration, and how close generated
   events are to held-out human ones per temperature (``foretell.bench.quality``).

Writes PNGs, ``results.json`` and a ``README.md`` that embeds them. ``--quick`` is the CI profile
(tiny sizes, few epochs, truncated data: seconds); the default full profile caps epochs so a run
stays within about 25 minutes on 2 cores. Trained models stay in memory; nothing but the report
is written. Without the 100k set, its parts are skipped with a note.

This module runs the parts; each lives in its own: ``evaluation_setup`` (profiles, data, test
sets), ``evaluation_training`` (1), ``evaluation_timing`` (2, 3), ``evaluation_quality`` (4, 5),
``evaluation_comparison`` (paper vs foretell) and ``evaluation_report`` (the README).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.evaluation_comparison import comparison
from foretell.bench.evaluation_quality import part_quality, part_temperatures
from foretell.bench.evaluation_report import write_readme
from foretell.bench.evaluation_setup import (
    FULL,
    QUICK,
    Profile,
    Report,
    default_100k,
    held_out_sets,
    load_average,
    load_datasets,
    machine_info,
    test_splits,
)
from foretell.bench.evaluation_timing import part_live, part_prediction
from foretell.bench.evaluation_training import part_training
from foretell.bench.registry import register
from foretell.model.fileformat import ModelFile

SCHEMA_VERSION = 1
PARTS = ("training", "prediction", "live", "temperatures", "quality")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def run_all(
    out: Path,
    profile: Profile,
    path_100k: Path | None,
    skip: Sequence[str] = (),
    progress: bool = True,
) -> Report:
    """Run every part not in ``skip``; write the PNGs, ``results.json`` and ``README.md``."""
    out.mkdir(parents=True, exist_ok=True)
    report = Report(profile, out, progress)
    started = time.perf_counter()
    loads: dict[str, Any] = {"start": load_average(), "parts": {}}
    part_seconds: dict[str, float] = {}
    machine = machine_info()
    datasets = load_datasets(profile, path_100k, report)
    models: dict[tuple[str, int], ModelFile] = {}
    tests = test_splits(datasets)
    splits = held_out_sets(tests)
    with tempfile.TemporaryDirectory(prefix="foretell-eval-") as tmp:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("training", lambda: models.update(part_training(report, tests))),
            ("prediction", lambda: part_prediction(report)),
            ("live", lambda: part_live(report, Path(tmp))),
            ("temperatures", lambda: part_temperatures(report, models, splits)),
            ("quality", lambda: part_quality(report, models, splits)),
        ]
        for name, step in steps:
            if name in skip:
                report.notes.append(f"part {name} skipped (--skip)")
                continue
            began = time.perf_counter()
            step()
            loads["parts"][name] = load_average()
            part_seconds[name] = round(time.perf_counter() - began, 1)
    loads["end"] = load_average()
    report.results = {
        "schema": SCHEMA_VERSION,
        "profile": asdict(profile),
        "machine": machine,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "part_seconds": part_seconds,
        "load_average": loads,
        "data": {
            name: {"performances": len(d.performances), "events": d.events}
            for name, d in datasets.items()
        },
        **report.results,
    }
    report.results["comparison"] = comparison(report.results)
    report.results["figures"] = report.figures
    report.results["notes"] = report.notes
    (out / "results.json").write_text(json.dumps(_jsonable(report.results), indent=1))
    write_readme(report)
    return report


@register
@click.command("all")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("docs/evaluation"),
    show_default=True,
)
@click.option(
    "--quick",
    is_flag=True,
    help="The CI profile: tiny sizes, few epochs, truncated data (seconds).",
)
@click.option(
    "--data-100k",
    "data_100k",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The LightPad 100k set [default: ../shared/data/lightpad-100k.npz if present].",
)
@click.option("--no-100k", is_flag=True, help="Leave the 100k set out even if it is there.")
@click.option(
    "--skip", multiple=True, type=click.Choice(PARTS[1:]), help="Leave a part out (repeatable)."
)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Progress bars on stderr."
)
def evaluate_all(
    out: Path,
    quick: bool,
    data_100k: Path | None,
    no_100k: bool,
    skip: tuple[str, ...],
    progress: bool,
) -> None:
    """Run the whole evaluation; write figures, results.json and README.md to OUT."""
    path_100k = None if no_100k else (data_100k or default_100k())
    report = run_all(out, QUICK if quick else FULL, path_100k, skip, progress)
    click.echo(
        f"wrote {len(report.figures)} figures, results.json and README.md to {out} "
        f"in {report.results['wall_seconds']:.0f} s"
    )
    for note in report.notes:
        click.echo(f"note: {note}")
