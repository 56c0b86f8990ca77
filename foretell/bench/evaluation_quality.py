"""Parts 4 and 5 of ``foretell bench all``: generated playing at π/σ temperatures against held-out
human playing (the paper's Fig. 10), held-out NLL against baselines, and dt calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from foretell.bench import quality as q
from foretell.bench import temperatures as temps
from foretell.bench.evaluation_setup import LARGE, SMALL, Profile, Report
from foretell.model.fileformat import ModelFile
from foretell.model.protocol import build_model


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
        runtime = build_model(model).voice(np.random.default_rng(0))
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
