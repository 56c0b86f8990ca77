"""Part 1 of ``foretell bench all``: training curves per size and dataset (the paper's Figs. 6, 7),
scored on the test set, with the paper's observation (larger models overfit small data) checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from foretell.bench.evaluation_setup import LARGE, SMALL, Report
from foretell.bench.quiet_training import train_quietly
from foretell.model.fileformat import ModelFile
from foretell.train.batches import TEST_SEED, TestSplit

if TYPE_CHECKING:
    from foretell.train.loop import HeldOutScore, TrainResult


OVERFIT_RISE = 0.1  # nats above the best validation NLL, after it, while training NLL falls
MIN_EPOCHS_AFTER_BEST = 5  # fewer epochs after the best say nothing about overfitting


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
