"""The paper (or IMPSY on this machine) against foretell, per paper figure, for ``bench all``."""

from __future__ import annotations

from typing import Any

from foretell.bench.evaluation_setup import (
    IMPSY_EPOCH_S_12K,
    IMPSY_KERAS_MS,
    IMPSY_TFLITE_MS,
    IMPSY_TO_BEST_S_12K,
    LARGE,
    PAPER_100_EPOCHS_MIN,
    PAPER_PREDICT_MS,
    SMALL,
)


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
