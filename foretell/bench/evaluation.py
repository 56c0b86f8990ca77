"""``foretell bench all``: the whole evaluation on the machine at hand, as figures and numbers.

Parts (each also has its own command: ``bench train``, ``bench predict``, ``bench live``,
``bench temperatures``, ``bench quality``):

1. ``training``: train and validation NLL per epoch for each size on LightPad 12k and 100k (the
   paper's Figs. 6, 7), early stopping marked, wall time to best, and the paper's observation
   (which sizes overfit the small set) checked in words.
2. ``prediction``: time per step vs dimension and vs units (Figs. 8, 9), NumPy runtime and the
   PyTorch one-step in the same run (``foretell.bench.predict.bench_predict``).
3. ``live``: OSC round-trip histogram and timing errors of scheduled events, measured from outside
   (``foretell.bench.live``'s engine process, client and sidecar log).
4. ``temperatures``: generated touch traces at a π/σ grid beside a human one (Fig. 10).
5. ``quality``: held-out NLL per size against baselines, dt calibration, and how close generated
   events are to held-out human ones per temperature (``foretell.bench.quality``).

Writes PNGs, ``results.json`` and a ``README.md`` that embeds them. ``--quick`` is the CI profile
(tiny sizes, few epochs, truncated data: seconds); the default full profile caps epochs so a run
stays within about 25 minutes on 2 cores. Trained models stay in memory; nothing but the report
is written. Without the 100k set, its parts are skipped with a note.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from tqdm import tqdm

from foretell.bench import quality as q
from foretell.bench import temperatures as temps
from foretell.bench.quiet_training import train_quietly
from foretell.bench.registry import register
from foretell.data.dataset import Dataset, bundled_dataset_path, load_dataset
from foretell.model.fileformat import ModelFile
from foretell.model.runtime import Runtime
from foretell.train.batches import TEST_SEED, TestSplit, split_test

if TYPE_CHECKING:
    from foretell.train.loop import HeldOutScore, TrainResult

SCHEMA_VERSION = 1
PARTS = ("training", "prediction", "live", "temperatures", "quality")
SMALL, LARGE = "12k", "100k"
# Reference figures (issues 3 and 4): the paper's, and IMPSY's measured on this machine.
PAPER_100_EPOCHS_MIN = 70.0
PAPER_PREDICT_MS = {64: 1.85, 512: 4.51}
IMPSY_TFLITE_MS = {64: 0.06, 512: 0.18}
IMPSY_KERAS_MS = 6.6
IMPSY_EPOCH_S_12K = 3.5
IMPSY_TO_BEST_S_12K = 186.0
OVERFIT_RISE = 0.1  # nats above the best validation NLL, after it, while training NLL falls
MIN_EPOCHS_AFTER_BEST = 5  # fewer epochs after the best say nothing about overfitting


@dataclass(frozen=True)
class Profile:
    """How much of everything to run (the caps are stated in the README)."""

    name: str
    sizes: tuple[int, ...]
    epochs: dict[str, int] | None  # per dataset; None: training's own defaults (no cap hit)
    patience: dict[str, int] | None
    seeds: tuple[int, ...]  # every configuration is trained once per seed
    keep_events: int | None  # truncate each performance (quick profile)
    keep_performances: int | None
    dims: tuple[int, ...]
    units_sweep: tuple[int, ...]
    xl: bool  # also time IMPSY's xl (3 x 512)
    predict_steps: int
    torch_threads: int | None  # threads for the PyTorch one-step (None: torch's default)
    live_seconds: float
    live_generate_s: float
    live_rate: float
    live_echo: bool
    display_pi: tuple[float, ...]
    display_sigma: tuple[float, ...]
    trace_seconds: float
    grid_pi: tuple[float, ...]
    grid_sigma: tuple[float, ...]
    grid_steps: int
    grid_runs: int
    temperature_units: int


QUICK = Profile(
    name="quick",
    sizes=(8, 16),
    epochs={SMALL: 3, LARGE: 2},
    patience={SMALL: 2, LARGE: 2},
    seeds=(0, 1),
    keep_events=400,
    keep_performances=12,
    dims=(2, 4),
    units_sweep=(16, 64),
    xl=False,
    predict_steps=100,
    torch_threads=1,  # CI on a loaded machine: two spinning threads make a warm-up take seconds
    live_seconds=0.5,
    live_generate_s=0.5,
    live_rate=200.0,
    live_echo=False,
    display_pi=(0.5, 1.0),
    display_sigma=(0.1, 1.0),
    trace_seconds=4.0,
    grid_pi=(0.5, 1.0),
    grid_sigma=(0.1, 1.0),
    grid_steps=200,
    grid_runs=1,
    temperature_units=16,
)

FULL = Profile(
    name="full",
    sizes=(64, 128, 256, 512),
    epochs=None,
    patience=None,
    seeds=(0, 1, 2),
    keep_events=None,
    keep_performances=None,
    dims=(2, 3, 4, 5, 6, 7, 8, 9),
    units_sweep=(16, 32, 64, 128, 256, 512),
    xl=True,
    predict_steps=2000,
    torch_threads=None,
    live_seconds=30.0,
    live_generate_s=5.0,
    live_rate=200.0,
    live_echo=True,
    display_pi=(0.5, 1.0, 1.5),
    display_sigma=(0.01, 0.1, 0.5, 1.0),
    trace_seconds=12.0,
    grid_pi=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5),
    grid_sigma=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0),
    grid_steps=3000,
    grid_runs=2,
    temperature_units=64,
)


@dataclass
class Report:
    """What the run produced: the JSON results, the figures and the notes."""

    profile: Profile
    out: Path
    progress: bool
    results: dict[str, Any] = field(default_factory=dict)
    figures: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, path: Path, part: str, title: str) -> None:
        self.figures.append({"file": path.name, "part": part, "title": title})


# -- machine and data -----------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, Python/numpy/torch/matplotlib versions, OS and date."""
    from foretell.bench.harness import machine

    info = machine()
    try:
        meminfo = Path("/proc/meminfo").read_text().split()
        info["ram_gb"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 1024**2, 1)
    except (OSError, ValueError):
        info["ram_gb"] = None
    info |= {"numpy": np.__version__, "platform": platform.platform()}
    for name in ("torch", "matplotlib"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    info["date"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info["git"] = git_state()
    return info


def git_state() -> dict[str, Any]:
    """The commit the code came from and any uncommitted changes to tracked files."""
    import subprocess

    repo = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = [
        line.split(maxsplit=1)[-1] for line in git("status", "--porcelain", "-uno").splitlines()
    ]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "uncommitted": changed}


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def default_100k() -> Path | None:
    """``../shared/data/lightpad-100k.npz`` next to the working directory or the repository."""
    from foretell.bench.train import SHARED_100K

    repo = Path(__file__).resolve().parents[2]
    for candidate in (SHARED_100K, repo.parent / "shared" / "data" / "lightpad-100k.npz"):
        if candidate.is_file():
            return candidate
    return None


def trimmed(dataset: Dataset, profile: Profile) -> Dataset:
    """The dataset cut down for a quick profile (first events of the first performances)."""
    if profile.keep_events is None and profile.keep_performances is None:
        return dataset
    perfs = dataset.performances[: profile.keep_performances]
    perfs = tuple(p[: profile.keep_events] for p in perfs if len(p) >= 2)
    return Dataset(perfs, dataset.dimension, dataset.name)


def load_datasets(profile: Profile, path_100k: Path | None, report: Report) -> dict[str, Dataset]:
    datasets = {SMALL: trimmed(load_dataset(bundled_dataset_path()), profile)}
    if path_100k is None:
        report.notes.append("LightPad 100k set not found (use --data-100k PATH): its parts skipped")
    else:
        datasets[LARGE] = trimmed(load_dataset(path_100k), profile)
    return datasets


# -- 1. training curves ---------------------------------------------------------------------------


def run_record(
    name: str, units: int, seed: int, result: TrainResult, test: HeldOutScore
) -> dict[str, Any]:
    """A training run as plain data (curves, summary, test NLL) for the JSON, figures, README."""
    history = result.history
    return {
        "dataset": name,
        "units": units,
        "seed": seed,
        "layers": result.model.spec.layers,
        **result.summary(),
        "test_nll": round(test.nll, 5),
        "test_nll_per_performance": [round(x, 4) for x in test.per_performance],
        "test_events": test.events,
        "split_by": result.model.info.get("split_by"),
        "train_events": result.model.info.get("train_events"),
        "val_events": result.model.info.get("val_events"),
        "minutes_per_100_epochs": round(result.train_seconds / max(len(history), 1) * 100 / 60, 3),
        "train_nll": [round(r.train_nll, 5) for r in history],
        "val_nll": [round(r.val_nll, 5) for r in history],
        "seconds": [round(r.seconds, 3) for r in history],
    }


def overfitting(run: dict[str, Any]) -> dict[str, Any]:
    """Does validation NLL rise after its best epoch while training NLL keeps falling?"""
    best = run["best_epoch"]
    val, train = run["val_nll"], run["train_nll"]
    after_val, after_train = val[best:], train[best:]
    rise = (max(after_val) - run["best_val_nll"]) if after_val else 0.0
    train_drop = (train[best - 1] - min(after_train)) if after_train else 0.0
    failed = best <= 2 and len(after_val) >= MIN_EPOCHS_AFTER_BEST
    return {
        "val_rise_after_best": round(rise, 4),
        "train_drop_after_best": round(train_drop, 4),
        "gap_at_best": round(val[best - 1] - train[best - 1], 4),
        "failed_to_train": bool(failed),
        "still_improving": bool(best == len(val) and run["stopped"] == "epochs"),
        "overfits": bool(
            not failed
            and len(after_val) >= MIN_EPOCHS_AFTER_BEST
            and rise >= OVERFIT_RISE
            and train_drop > 0
        ),
    }


def part_training(report: Report, splits: dict[str, TestSplit]) -> dict[tuple[str, int], ModelFile]:
    """Train every size on every dataset's trainable part, once per seed; score each on the test
    set (never used for stopping or selection); plot the first seed's curves."""
    from foretell.bench.figures import curve_limits, plot_training_curves
    from foretell.train.loop import held_out_nll

    profile, runs, models = report.profile, [], {}
    for name, split in splits.items():
        for units in profile.sizes:
            for seed in profile.seeds:
                result = train_quietly(
                    split.trainable,
                    units,
                    (profile.epochs or {}).get(name),
                    (profile.patience or {}).get(name),
                    seed,
                    desc=f"train {name} {units} units seed {seed}",
                    progress=report.progress,
                )
                if seed == profile.seeds[0]:
                    models[(name, units)] = result.model
                record = run_record(
                    name, units, seed, result, held_out_nll(result.model, split.test)
                )
                runs.append(record | overfitting(record))
    first = [r for r in runs if r["seed"] == profile.seeds[0]]
    ylim = curve_limits(first)
    for name in splits:
        mine = [r for r in first if r["dataset"] == name]
        figure = 6 if name == SMALL else 7
        title = (
            f"LightPad {name}: train/validation NLL per epoch, seed {profile.seeds[0]} "
            f"(paper Fig. {figure})"
        )
        path = plot_training_curves(mine, title, ylim, report.out / f"training-curves-{name}.png")
        report.figure(path, "training", title)
    configurations = summarise_seeds(runs)
    report.results["training"] = {
        "caps": {"epochs": profile.epochs, "patience": profile.patience},
        "seeds": list(profile.seeds),
        "test_sets": {n: _describe_test(n, s) for n, s in splits.items()},
        "runs": runs,
        "configurations": configurations,
        "observation": training_observation(configurations),
    }
    return models


def _spread(values: Sequence[float], digits: int = 4) -> dict[str, float]:
    return {
        "mean": round(float(np.mean(values)), digits),
        "min": round(float(np.min(values)), digits),
        "max": round(float(np.max(values)), digits),
    }


def summarise_seeds(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, units): mean and range over seeds; per-performance test spread."""
    rows = []
    for key in dict.fromkeys((r["dataset"], r["units"]) for r in runs):
        mine = [r for r in runs if (r["dataset"], r["units"]) == key]
        per_perf = np.mean([r["test_nll_per_performance"] for r in mine], axis=0)
        rows.append(
            {
                "dataset": key[0],
                "units": key[1],
                "seeds": [r["seed"] for r in mine],
                "test_nll": _spread([r["test_nll"] for r in mine]),
                "best_val_nll": _spread([r["best_val_nll"] for r in mine]),
                "best_epoch": _spread([r["best_epoch"] for r in mine], 1),
                "train_seconds": _spread([r["train_seconds"] for r in mine], 1),
                "stopped": sorted({r["stopped"] for r in mine}),
                "caps_hit": sum(r["still_improving"] for r in mine),
                "overfits": sum(r["overfits"] for r in mine),
                "failed_to_train": sum(r["failed_to_train"] for r in mine),
                "test_per_performance": _spread(per_perf.tolist()),
            }
        )
    return rows


def _describe_test(name: str, split: TestSplit) -> dict[str, Any]:
    how = (
        "whole performances (performance split)"
        if split.by == "performance"
        else "the tail 10 % of each performance (time split)"
    )
    return {
        "description": f"{how}, seed {TEST_SEED}; never used for stopping or selection",
        "performances": len(split.test),
        "events": int(sum(len(p) for p in split.test)),
        "trainable_events": split.trainable.events,
    }


def _dataset_words(rows: Sequence[dict[str, Any]], name: str) -> str:
    """One dataset's configurations in a sentence: the best size on test NLL, and any flags."""
    best = min(rows, key=lambda r: r["test_nll"]["mean"])

    def sizes(flag: str) -> str:
        return ", ".join(str(r["units"]) for r in rows if r[flag]) or "none"

    return (
        f"On LightPad {name}, the best test NLL is {best['test_nll']['mean']:.3f} nats/event "
        f"(mean of {len(best['seeds'])} seeds) at {best['units']} units; overfitting in some seed "
        f"(validation NLL {OVERFIT_RISE}+ nats above its best within the "
        f"{MIN_EPOCHS_AFTER_BEST}+ epochs after it while training NLL falls): {sizes('overfits')}; "
        f"failed to train: {sizes('failed_to_train')}; stopped by the epoch cap while still "
        f"improving: {sizes('caps_hit')}. "
    )


def training_observation(rows: Sequence[dict[str, Any]]) -> str:
    """The paper's claim (larger models overfit small data) checked on test NLL, in words."""
    small = [r for r in rows if r["dataset"] == SMALL]
    if not small:
        return "no runs on the small set"
    text = "".join(
        _dataset_words([r for r in rows if r["dataset"] == name], name)
        for name in (SMALL, LARGE)
        if any(r["dataset"] == name for r in rows)
    )
    best = min(small, key=lambda r: r["test_nll"]["mean"])
    largest = max(small, key=lambda r: r["units"])
    agrees = best["units"] < largest["units"] and (
        largest["test_nll"]["min"] > best["test_nll"]["max"]
    )
    return text + (
        "The paper's observation (larger models overfit the small corpus; small models suit it) "
        + (
            "holds on test NLL: the largest size scores worse on the small set's test data than "
            "the best size in every seed."
            if agrees
            else "does not hold in that form on test NLL: the largest size is not worse than the "
            "best in every seed (see the table's ranges)."
        )
    )


# -- 2. time per prediction -----------------------------------------------------------------------


def part_prediction(report: Report) -> None:
    """``bench_predict`` over dimensions (64 units) and units (dimension 4), plus xl."""
    from foretell.bench.figures import plot_prediction_times
    from foretell.bench.predict import bench_predict

    profile = report.profile
    jobs = [("dim", 64, d, 2) for d in profile.dims]
    jobs += [("units", u, 4, 2) for u in profile.units_sweep]
    jobs += [("xl", 512, 4, 3)] if profile.xl else []
    rows: dict[str, list[dict[str, Any]]] = {"dim": [], "units": [], "xl": []}
    if profile.torch_threads is not None:
        import torch

        torch.set_num_threads(profile.torch_threads)
    measured: dict[tuple[int, int, int], dict[str, Any]] = {}  # 2 x 64, dim 4 is in both sweeps
    for kind, units, dim, layers in tqdm(
        jobs, desc="time per prediction", disable=not report.progress
    ):
        key = (units, dim, layers)
        if key not in measured:
            measured[key] = bench_predict(units, dim, layers, steps=profile.predict_steps)
        rows[kind].append(measured[key])
    references = {
        "paper (laptop), 64 units": PAPER_PREDICT_MS[64],
        "paper, 512 units": PAPER_PREDICT_MS[512],
        "IMPSY Keras, this machine": IMPSY_KERAS_MS,
        "IMPSY TFLite 64, this machine": IMPSY_TFLITE_MS[64],
        "IMPSY TFLite 512, this machine": IMPSY_TFLITE_MS[512],
    }
    path = plot_prediction_times(
        rows["dim"], rows["units"], references, report.out / "prediction-time.png"
    )
    report.figure(
        path, "prediction", "Time per prediction vs dimension and vs units (paper Figs. 8, 9)"
    )
    report.results["prediction"] = {
        "steps": profile.predict_steps,
        "by_dim": rows["dim"],
        "by_units": rows["units"],
        "xl": rows["xl"],
        "references_ms": references,
    }


# -- 3. end to end --------------------------------------------------------------------------------


def part_live(report: Report, tmp: Path) -> None:
    """Round trips in filter mode (raw times kept), callresponse timing, the bare echo floor."""
    from foretell.bench import harness, live
    from foretell.bench.figures import plot_live

    profile = report.profile
    model = harness.bench_model(tmp / "s.ftm")
    steps = tqdm(
        total=3 if profile.live_echo else 2, desc="live (OSC)", disable=not report.progress
    )
    with (
        harness.udp_client() as sock,
        harness.engine(model, "filter", sock.getsockname()[1], tmp / "filter") as proc,
    ):
        warm_up = min(1.0, profile.live_seconds)
        harness.round_trips(sock, proc.port, profile.live_rate, warm_up)  # not counted
        times, lost = harness.round_trips(sock, proc.port, profile.live_rate, profile.live_seconds)
    steps.update(1)
    round_trip = times[~np.isnan(times)] * 1e3
    callresponse = live.callresponse_run(model, profile.live_generate_s, tmp / "cr")
    timing = np.abs(harness.sidecar_timing(tmp / "cr")) * 1e3
    steps.update(1)
    echo = live.echo_run(profile.live_rate, profile.live_seconds) if profile.live_echo else {}
    steps.update(1 if profile.live_echo else 0)
    steps.close()
    path = plot_live(round_trip, echo, timing, report.out / "live-latency.png")
    report.figure(path, "live", "OSC round trip (filter mode) and timing of scheduled events")
    report.results["live"] = {
        "model": "s (2 x 64 LSTM, 5 mixtures), dimension 4, random weights",
        "rate": profile.live_rate,
        "seconds": profile.live_seconds,
        "sent": len(times),
        "lost": lost,
        "round_trip": harness.latency_summary(round_trip, digits=4),
        "timing": harness.latency_summary(timing, digits=4)
        | {"generated": len(timing), "received": callresponse.get("received")},
        "echo": echo or None,
    }


# -- 4. and 5. temperatures and quality -----------------------------------------------------------


def test_splits(datasets: dict[str, Dataset]) -> dict[str, TestSplit]:
    """Each dataset's test set, held out before training (fixed seed, the same for every run).

    The 12k performances are also in the 100k set; any that fall in the 100k test set move to
    its trainable part, so a 12k-trained model is never scored on data it saw.
    """
    splits = {name: split_test(dataset) for name, dataset in datasets.items()}
    if LARGE in splits and SMALL in datasets:
        seen = {p.tobytes() for p in datasets[SMALL].performances}
        large = splits[LARGE]
        moved = tuple(p for p in large.test if p.tobytes() in seen)
        if moved:
            trainable = replace(large.trainable, performances=large.trainable.performances + moved)
            test = tuple(p for p in large.test if p.tobytes() not in seen)
            splits[LARGE] = TestSplit(trainable, test, large.by)
    return splits


def held_out_sets(
    splits: dict[str, TestSplit],
) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """(trainable, test) performances per dataset, for the baselines and the quality parts."""
    return {n: (list(s.trainable.performances), list(s.test)) for n, s in splits.items()}


def temperature_model(
    models: dict[tuple[str, int], ModelFile], profile: Profile
) -> tuple[str, ModelFile]:
    """The model that plays: ``temperature_units`` trained on the largest dataset available."""
    name = LARGE if (LARGE, profile.temperature_units) in models else SMALL
    return name, models[(name, profile.temperature_units)]


def part_temperatures(
    report: Report, models: dict[tuple[str, int], ModelFile], splits: dict[str, Any]
) -> None:
    """Fig. 10 (touch traces), and distances to held-out human events over a finer grid."""
    from foretell.bench.figures import (
        plot_distributions,
        plot_temperature_heatmaps,
        plot_touch_traces,
    )

    profile = report.profile
    name, model = temperature_model(models, profile)
    train, held = splits[name]
    label = f"{profile.temperature_units} units trained on LightPad {name}"
    traces = temps.display_traces(
        model,
        profile.display_pi,
        profile.display_sigma,
        profile.trace_seconds,
        progress=report.progress,
    )
    human = temps.human_excerpt(held, profile.trace_seconds)
    path = plot_touch_traces(traces, human, report.out / "temperatures.png")
    report.figure(
        path,
        "temperatures",
        f"Generated performances at π/σ temperatures beside a human one ({label})",
    )
    human_events = np.concatenate(held).astype(float)
    records, samples = temps.temperature_grid(
        model,
        human_events,
        profile.grid_pi,
        profile.grid_sigma,
        profile.grid_steps,
        profile.grid_runs,
        progress=report.progress,
    )
    reference = q.human_reference(train, held)
    path = plot_temperature_heatmaps(
        records,
        profile.grid_pi,
        profile.grid_sigma,
        reference,
        report.out / "quality-temperature-grid.png",
    )
    report.figure(path, "quality", "KS distance to held-out human playing per (π, σ) temperature")
    shown: dict[str, np.ndarray] = {}
    if (1.0, 1.0) in samples:
        shown["π 1, σ 1 (plain sampling)"] = samples[(1.0, 1.0)]
    best = records[0]
    shown[f"best: π {best['pi_temp']:g}, σ {best['sigma_temp']:g}"] = samples[
        (best["pi_temp"], best["sigma_temp"])
    ]
    coldest = (min(profile.grid_pi), min(profile.grid_sigma))
    shown[f"coldest: π {coldest[0]:g}, σ {coldest[1]:g}"] = samples[coldest]
    path = plot_distributions(
        human_events,
        shown,
        q.column_names(human_events.shape[1]),
        report.out / "quality-distributions.png",
    )
    report.figure(path, "quality", "Distributions of dt and controls: generated vs held-out human")
    report.results["temperatures"] = {
        "model": label,
        "trace_seconds": profile.trace_seconds,
        "human_events": len(human_events),
        "display": [
            {
                "pi_temp": p,
                "sigma_temp": s,
                "events": len(t),
                "median_dt_ms": round(float(np.median(t[:, 0]) * 1e3), 3),
            }
            for (p, s), t in traces.items()
        ],
        "grid": records,
        "human_vs_human": reference,
        "steps_per_pair": profile.grid_steps * profile.grid_runs,
    }


def part_quality(
    report: Report, models: dict[tuple[str, int], ModelFile], splits: dict[str, Any]
) -> None:
    """Held-out NLL of every model and baseline; dt calibration of every model."""
    from foretell.bench.figures import plot_calibration, plot_heldout_nll

    columns = {name: f"{name} held out" for name in splits}
    rows: list[dict[str, Any]] = []
    calibration: dict[str, dict[str, float]] = {}
    pits: dict[str, np.ndarray] = {}
    jobs = list(models.items())
    for (name, units), model in tqdm(jobs, desc="held-out NLL", disable=not report.progress):
        runtime = Runtime(model, np.random.default_rng(0))
        row: dict[str, Any] = {
            "label": f"MDRNN {units} ({name})",
            "kind": "mdrnn",
            "trained_on": name,
            "units": units,
        }
        for held_name in _scored_sets(name, splits):
            score = q.score_model(runtime, splits[held_name][1])
            row[columns[held_name]] = round(score.mean_nll, 4)
            row[f"{columns[held_name]} events"] = score.events
            if held_name == name:
                calibration[row["label"]] = q.coverage(score.pit)
                pits[row["label"]] = score.pit
        rows.append(row)
    for name, (train, _held) in splits.items():
        spec = next(m.spec for (n, _), m in models.items() if n == name)
        fitted = q.fit_baselines(train, spec.transform, spec)
        for baseline in q.BASELINES:
            row = {
                "label": f"{baseline} ({name})",
                "kind": "baseline",
                "trained_on": name,
                "baseline": baseline,
            }
            for held_name in _scored_sets(name, splits):
                row[columns[held_name]] = round(
                    q.baseline_nll(fitted[baseline], splits[held_name][1])["mean_nll"], 4
                )
            rows.append(row)
    path = plot_heldout_nll(rows, list(columns.values()), report.out / "quality-heldout-nll.png")
    report.figure(path, "quality", "Held-out NLL per size against baselines")
    tname, _ = temperature_model(models, report.profile)
    pit_label = f"MDRNN {report.profile.temperature_units} ({tname})"
    path = plot_calibration(
        calibration, pits[pit_label], pit_label, report.out / "quality-dt-calibration.png"
    )
    report.figure(path, "quality", "Calibration of predicted dt: coverage of central intervals")
    report.results["quality"] = {
        "held_out_sets": {columns[n]: _describe_held_out(n, s) for n, s in splits.items()},
        "nll": rows,
        "dt_coverage": calibration,
        "consistency": _consistency(rows, report.results.get("training", {}).get("runs", [])),
    }


def _scored_sets(trained_on: str, splits: dict[str, Any]) -> list[str]:
    """The held-out sets a model never saw: its own; a 12k model also the unseen 100k sessions."""
    return [trained_on] + ([LARGE] if trained_on == SMALL and LARGE in splits else [])


def _describe_held_out(
    name: str, split: tuple[list[np.ndarray], list[np.ndarray]]
) -> dict[str, Any]:
    how = (
        "the test set: the tail 10 % of each performance (time split)"
        if name == SMALL
        else "the test set: whole performances (performance split), none of them in the 12k set"
    )
    return {
        "description": how,
        "segments": len(split[1]),
        "events": int(sum(len(s) for s in split[1])),
    }


def _consistency(
    rows: Sequence[dict[str, Any]], runs: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Trace NLL (NumPy runtime) on the model's own test set vs torch's test NLL for that run."""
    out = []
    first = min((r["seed"] for r in runs), default=0)
    for run in (r for r in runs if r["seed"] == first):
        row = next(
            (
                r
                for r in rows
                if r.get("units") == run["units"] and r["trained_on"] == run["dataset"]
            ),
            None,
        )
        key = f"{run['dataset']} held out"
        if row is None or key not in row:
            continue
        out.append(
            {
                "model": row["label"],
                "trace_nll": row[key],
                "torch_test_nll": round(run["test_nll"], 4),
                "train_best_val_nll": round(run["best_val_nll"], 4),
            }
        )
    return out


# -- comparison with the paper --------------------------------------------------------------------


def _ratio(paper: float | None, ours: float | None) -> float | None:
    return round(paper / ours, 1) if paper and ours else None


def comparison(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Paper (or IMPSY here) vs ours per paper figure; ratio = theirs / ours (x times faster)."""
    rows: list[dict[str, Any]] = []
    training_runs = results.get("training", {}).get("runs", [])
    first = min((r["seed"] for r in training_runs), default=0)
    runs = {(r["dataset"], r["units"]): r for r in training_runs if r["seed"] == first}
    for key in ((LARGE, 512), (LARGE, 64), (SMALL, 64)):
        if key in runs:
            ours = runs[key]["minutes_per_100_epochs"]
            rows.append(
                {
                    "figure": "Figs. 6/7 training",
                    "quantity": f"minutes per 100 epochs, {key[1]} units on {key[0]}",
                    "reference": "paper",
                    "theirs": PAPER_100_EPOCHS_MIN,
                    "ours": ours,
                    "ratio": _ratio(PAPER_100_EPOCHS_MIN, ours),
                }
            )
    if (SMALL, 64) in runs:
        r = runs[(SMALL, 64)]
        rows.append(
            {
                "figure": "Figs. 6/7 training",
                "quantity": "seconds per epoch, 64 units on 12k",
                "reference": "IMPSY, this machine",
                "theirs": IMPSY_EPOCH_S_12K,
                "ours": r["seconds_per_epoch"],
                "ratio": _ratio(IMPSY_EPOCH_S_12K, r["seconds_per_epoch"]),
            }
        )
        rows.append(
            {
                "figure": "Figs. 6/7 training",
                "quantity": f"seconds until training stopped ({r['stopped']}), 64 units, 12k",
                "reference": "IMPSY, this machine (early stopping)",
                "theirs": IMPSY_TO_BEST_S_12K,
                "ours": r["train_seconds"],
                "ratio": _ratio(IMPSY_TO_BEST_S_12K, r["train_seconds"]),
            }
        )
    by_units = {r["units"]: r for r in results.get("prediction", {}).get("by_units", [])}
    for units in (64, 512):
        if units not in by_units:
            continue
        ours = by_units[units]["p50_ms"]
        for reference, theirs in (
            ("paper (laptop)", PAPER_PREDICT_MS[units]),
            ("IMPSY TFLite, this machine", IMPSY_TFLITE_MS[units]),
            ("IMPSY Keras, this machine", IMPSY_KERAS_MS if units == 64 else None),
            ("PyTorch one-step, same run", by_units[units].get("torch_p50_ms")),
        ):
            if theirs is not None:
                rows.append(
                    {
                        "figure": "Figs. 8/9 time per prediction",
                        "quantity": f"ms per step (p50), {units} units, dim 4",
                        "reference": reference,
                        "theirs": theirs,
                        "ours": ours,
                        "ratio": _ratio(theirs, ours),
                    }
                )
    temps = results.get("temperatures")
    if temps:
        best = temps["grid"][0]
        rows.append(
            {
                "figure": "Fig. 10 temperatures",
                "quantity": "mean KS to held-out human playing, best (π, σ)",
                "reference": "paper (qualitative, no number)",
                "theirs": None,
                "ours": f"{best['mean_ks']:.3f} at π {best['pi_temp']:g}, σ {best['sigma_temp']:g}",
                "ratio": None,
            }
        )
    return rows


# -- README ---------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return (
            f"{value:.{digits}g}"
            if abs(value) < 1e-2 or abs(value) >= 1e4
            else f"{value:.{digits}f}".rstrip("0").rstrip(".")
        )
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _readme_header(results: dict[str, Any]) -> list[str]:
    m, prof = results["machine"], results["profile"]
    quick = " --quick" if prof["name"] == "quick" else ""
    loads = results["load_average"]
    return [
        "# foretell evaluation",
        "",
        f"Made by `foretell bench all --out docs/evaluation/{quick}` "
        f"({prof['name']} profile) in one run of {results['wall_seconds'] / 60:.1f} minutes. "
        "Every number below is in `results.json`; the figures are regenerated by the same command "
        "(the 100k set is read from `../shared/data/lightpad-100k.npz`, or `--data-100k PATH`).",
        "",
        f"Code: commit `{m['git']['commit']}`"
        + (
            f", with uncommitted changes to {', '.join(m['git']['uncommitted'])}."
            if m["git"]["uncommitted"]
            else "."
        ),
        "",
        "## Machine",
        "",
        *_table(
            ["CPU", "cores", "RAM", "Python", "numpy", "torch", "matplotlib", "date"],
            [
                [
                    m["cpu"],
                    m["cores"],
                    f"{m['ram_gb']} GB",
                    m["python"],
                    m["numpy"],
                    m["torch"],
                    m["matplotlib"],
                    m["date"],
                ]
            ],
        ),
        f"Load average (1, 5, 15 min) at the start {loads['start']}, at the end {loads['end']}; "
        "1-minute load after each part: "
        + ", ".join(f"{k} {v[0]}" for k, v in loads["parts"].items())
        + ". Minutes per part: "
        + ", ".join(f"{k} {v / 60:.1f}" for k, v in results["part_seconds"].items())
        + ". The machine's cores were shared with other work while this ran, so timings are "
        "conservative.",
        "",
    ]


def _readme_figures(report: Report) -> list[str]:
    lines = ["## Figures", ""]
    lines += _table(
        ["#", "figure", "file"],
        [[i + 1, f["title"], f"[{f['file']}]({f['file']})"] for i, f in enumerate(report.figures)],
    )
    return lines


def _readme_comparison(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Paper vs foretell",
        "",
        "Ratio = theirs / ours (how many times faster foretell is). The paper's figures are on its "
        "laptop; IMPSY's were measured on this machine (issues 3 and 4). An epoch is not the same "
        "work: IMPSY's (and the paper's) epoch trains on every overlapping 50-step window, so each "
        "event is seen about 50 times; foretell's shows each event once as a target. Time to the "
        "early-stopped best model is the fair comparison.",
        "",
    ]
    lines += _table(
        ["paper figure", "quantity", "reference", "theirs", "ours", "ratio"],
        [
            [
                r["figure"],
                r["quantity"],
                r["reference"],
                r["theirs"],
                r["ours"],
                f"{r['ratio']}x" if r["ratio"] else "—",
            ]
            for r in results["comparison"]
        ],
    )
    return lines


def _range(spread: dict[str, float], digits: int = 3) -> str:
    return f"{spread['mean']:.{digits}f} ({spread['min']:.{digits}f} to {spread['max']:.{digits}f})"


def _readme_training(results: dict[str, Any], figures: Sequence[dict[str, str]]) -> list[str]:
    part = results.get("training")
    if not part:
        return []
    caps, seeds = part["caps"], part["seeds"]
    cap_words = (
        "training's own defaults (the schedule's length and its patience; no other cap)"
        if caps["epochs"] is None
        else f"at most {caps['epochs']} epochs, patience {caps['patience']} (per dataset)"
    )
    tests = "; ".join(
        f"{name}: {t['performances']} performances, {t['events']} events, {t['description']}"
        for name, t in part.get("test_sets", {}).items()
    )
    lines = [
        "## 1. Training curves (paper Figs. 6, 7)",
        "",
        f"Three-way split: the test set is held out first ({tests}); training splits the rest "
        "into train and validation, and validation alone decides when to stop and which epoch "
        f"to keep. Epochs: {cap_words}. 2 LSTM layers, 5 mixtures, seeds {seeds}: each cell is "
        "the mean over seeds with the range in brackets. NLL in the data space, nats per event "
        "(lower is better). The curves are the first seed's.",
        "",
    ]
    lines += [f"![{f['title']}]({f['file']})" for f in figures if f["part"] == "training"] + [""]
    lines += _table(
        [
            "data",
            "units",
            "test NLL",
            "best val NLL",
            "best epoch",
            "s training",
            "stopped",
            "caps hit",
            "overfits",
            "test NLL per performance",
        ],
        [
            [
                r["dataset"],
                r["units"],
                _range(r["test_nll"]),
                _range(r["best_val_nll"]),
                _range(r["best_epoch"], 0),
                _range(r["train_seconds"], 1),
                ", ".join(r["stopped"]),
                r["caps_hit"],
                "failed" if r["failed_to_train"] else r["overfits"],
                _range(r["test_per_performance"], 2),
            ]
            for r in part["configurations"]
        ],
    )
    return [*lines, f"**Observation.** {part['observation']}", ""]


def _readme_prediction(results: dict[str, Any], figures: Sequence[dict[str, str]]) -> list[str]:
    part = results.get("prediction")
    if not part:
        return []
    lines = [
        "## 2. Time per prediction (paper Figs. 8, 9)",
        "",
        f"One performance step (predict + sample) over {part['steps']} steps after a warm-up, "
        "random weights (same cost as trained ones); PyTorch one step at a time in the same run "
        "(`foretell bench predict`).",
        "",
    ]
    lines += [f"![{f['title']}]({f['file']})" for f in figures if f["part"] == "prediction"] + [""]
    rows = [
        [
            f"{r['layers']} x {r['units']}",
            r["dim"],
            r["p50_ms"],
            r["p99_ms"],
            r["sample_p50_ms"],
            r.get("torch_p50_ms"),
            r.get("speedup"),
        ]
        for r in part["by_dim"] + part["by_units"] + part["xl"]
    ]
    return lines + _table(
        ["LSTM", "dim", "p50 ms", "p99 ms", "sampling p50 ms", "PyTorch p50 ms", "x faster"], rows
    )


def _readme_live(results: dict[str, Any], figures: Sequence[dict[str, str]]) -> list[str]:
    part = results.get("live")
    if not part:
        return []
    rt, tm, echo = part["round_trip"], part["timing"], part.get("echo") or {}
    lines = [
        "## 3. End to end (OSC)",
        "",
        f"An external client sends `/interface` at {part['rate']:g}/s for {part['seconds']:g} s "
        f"to `foretell run` in filter mode ({part['model']}) and times each `/prediction` "
        "reply; callresponse timing from the "
        "engine's sidecar log (`foretell bench live`).",
        "",
    ]
    lines += [f"![{f['title']}]({f['file']})" for f in figures if f["part"] == "live"] + [""]
    return lines + _table(
        ["measure", "p50 ms", "p99 ms", "max ms", "n"],
        [
            [
                "round trip (foretell)",
                rt["p50_ms"],
                rt["p99_ms"],
                rt["max_ms"],
                f"{part['sent']} sent, {part['lost']} lost",
            ],
            [
                "round trip (bare python-osc echo)",
                echo.get("echo_p50_ms"),
                echo.get("echo_p99_ms"),
                None,
                None,
            ],
            [
                "scheduled event timing error",
                tm["p50_ms"],
                tm["p99_ms"],
                tm["max_ms"],
                tm["generated"],
            ],
        ],
    )


def _readme_temperatures(results: dict[str, Any], figures: Sequence[dict[str, str]]) -> list[str]:
    part = results.get("temperatures")
    if not part:
        return []
    ref = part["human_vs_human"]
    lines = [
        "## 4. Temperatures (paper Fig. 10) and 5a. distributions",
        "",
        f"The model ({part['model']}) plays from a fresh state, fed its own samples. "
        "π-temperature: the component is drawn from softmax(logits / T_π); σ-temperature: the "
        "component's covariance is scaled by T_σ. "
        f"Distances: {part['steps_per_pair']} generated events per pair against "
        f"{part['human_events']} held-out "
        "human events; Wasserstein-1 on log10 dt and raw controls, KS statistic; "
        f"human training vs held-out data scores mean KS {ref['mean_ks']:.3f} (the floor).",
        "",
    ]
    lines += [
        f"![{f['title']}]({f['file']})"
        for f in figures
        if f["part"] == "temperatures" or "temperature" in f["file"] or "distributions" in f["file"]
    ] + [""]
    names = [k for k in part["grid"][0] if isinstance(part["grid"][0][k], dict)]
    rows = [
        [
            r["pi_temp"],
            r["sigma_temp"],
            r["mean_ks"],
            *(r[n]["ks"] for n in names),
            r["dt"]["wasserstein"],
        ]
        for r in part["grid"][:8]
    ]
    rows.append(
        [
            "human",
            "vs human",
            ref["mean_ks"],
            *(ref[n]["ks"] for n in names),
            ref["dt"]["wasserstein"],
        ]
    )
    return [
        *lines,
        "Best 8 pairs by mean KS:",
        "",
        *_table(["π", "σ", "mean KS", *(f"KS {n}" for n in names), "W1 log10 dt"], rows),
    ]


def _readme_quality(results: dict[str, Any], figures: Sequence[dict[str, str]]) -> list[str]:
    part = results.get("quality")
    if not part:
        return []
    sets = list(part["held_out_sets"])
    lines = [
        "## 5. Held-out NLL against baselines, and dt calibration",
        "",
        *[
            f"- **{k}**: {v['description']}; {v['segments']} segments, {v['events']} events."
            for k, v in part["held_out_sets"].items()
        ],
        "- Baselines (fitted on the same training split, same network space and floor as the "
        "model): `iid` independent Gaussian; `repeat` last event + Gaussian noise; `ar1` "
        "per-control Markov model "
        "of the last step; `var1` joint linear-Gaussian Markov model.",
        "",
    ]
    lines += [
        f"![{f['title']}]({f['file']})"
        for f in figures
        if f["file"] in ("quality-heldout-nll.png", "quality-dt-calibration.png")
    ] + [""]
    lines += _table(
        ["model", *sets], [[r["label"], *(r.get(s) for s in sets)] for r in part["nll"]]
    )
    levels = sorted(next(iter(part["dt_coverage"].values()), {}), key=float)
    lines += [
        "Coverage of the predicted dt central intervals on the model's own held-out set "
        "(calibrated: equal to the nominal level):",
        "",
    ]
    lines += _table(
        ["model", *(f"{lv} %" for lv in levels)],
        [[k, *(v[lv] for lv in levels)] for k, v in part["dt_coverage"].items()],
    )
    lines += [
        "Consistency: `trace` NLL (NumPy runtime) on the test set vs the torch test NLL of "
        "the same run, and that run's best validation NLL (a different set: early stopping "
        "chose the epoch on it, so it is not a test score):",
        "",
    ]
    return lines + _table(
        ["model", "trace test NLL", "torch test NLL", "best val NLL"],
        [
            [c["model"], c["trace_nll"], c["torch_test_nll"], c["train_best_val_nll"]]
            for c in part["consistency"]
        ],
    )


def write_readme(report: Report) -> Path:
    results, figures = report.results, report.figures
    lines = _readme_header(results) + _readme_figures(report) + _readme_comparison(results)
    for section in (
        _readme_training,
        _readme_prediction,
        _readme_live,
        _readme_temperatures,
        _readme_quality,
    ):
        lines += section(results, figures)
    if report.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in report.notes], ""]
    path = report.out / "README.md"
    path.write_text("\n".join(lines))
    return path


# -- the run --------------------------------------------------------------------------------------


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
