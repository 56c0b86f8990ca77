"""Plotting helpers for the evaluation (matplotlib, Agg backend, imported inside each function).

Every function takes plain data (lists, dicts, arrays), writes one PNG at ``DPI`` and returns its
path. Nothing here measures or trains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DPI = 100
TRAIN_COLOUR, VAL_COLOUR = "tab:blue", "tab:orange"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


# -- training curves (paper Figs. 6, 7) -----------------------------------------------------------


def curve_limits(runs: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    """One y-range for every run: all of the curves but the first epochs' transient."""
    values = np.concatenate(
        [np.r_[r["train_nll"], r["val_nll"]] for r in runs if len(r["val_nll"])] or [np.zeros(1)]
    )
    low, high = float(values.min()), float(np.percentile(values, 97))
    margin = 0.08 * max(high - low, 0.1)
    return low - margin, high + margin


def plot_training_curves(
    runs: Sequence[Mapping[str, Any]], title: str, ylim: tuple[float, float], path: Path
) -> Path:
    """One panel per size: train and validation NLL per epoch, the best epoch marked."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(
        1, len(runs), figsize=(3.3 * len(runs), 3.4), sharey=True, squeeze=False
    )
    for ax, run in zip(axes[0], runs, strict=True):
        epochs = np.arange(1, len(run["val_nll"]) + 1)
        ax.plot(epochs, run["train_nll"], color=TRAIN_COLOUR, label="train")
        ax.plot(epochs, run["val_nll"], color=VAL_COLOUR, label="validation")
        best = run["best_epoch"]
        ax.axvline(best, color="grey", linestyle=":", linewidth=1)
        ax.plot([best], [run["best_val_nll"]], "o", color=VAL_COLOUR, markersize=5)
        ax.set_title(f"{run['units']} units", fontsize=10)
        ax.text(
            0.97,
            0.97,
            f"best {run['best_val_nll']:.2f} @ {best}\n{run['seconds_to_best']:.0f} s to best\n"
            f"stopped: {run['stopped']}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("NLL per event (nats)")
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


# -- time per prediction (paper Figs. 8, 9) -------------------------------------------------------


def _timing_panel(ax: Any, rows: Sequence[Mapping[str, Any]], key: str, label: str) -> None:
    xs = [r[key] for r in rows]
    for prefix, name, colour in (
        ("", "foretell NumPy", "tab:green"),
        ("torch_", "PyTorch one-step", "tab:red"),
    ):
        if rows[0].get(f"{prefix}p50_ms") is None:
            continue
        p50 = np.array([r[f"{prefix}p50_ms"] for r in rows])
        p99 = np.array([r[f"{prefix}p99_ms"] for r in rows])
        ax.errorbar(
            xs,
            p50,
            yerr=[np.zeros_like(p50), p99 - p50],
            marker="o",
            capsize=3,
            color=colour,
            label=f"{name} (p50, bar to p99)",
        )
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.grid(alpha=0.3, which="both")


def plot_prediction_times(
    by_dim: Sequence[Mapping[str, Any]],
    by_units: Sequence[Mapping[str, Any]],
    references: Mapping[str, float],
    path: Path,
) -> Path:
    """Time per step vs dimension (64 units) and vs units (dim 4), with reference lines."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
    _timing_panel(left, by_dim, "dim", "output dimension (dt + controls), 2 x 64 LSTM")
    _timing_panel(right, by_units, "units", "LSTM units (2 layers), dimension 4")
    left.set_xticks([r["dim"] for r in by_dim])
    right.set_xscale("log", base=2)
    right.set_xticks([r["units"] for r in by_units], [str(r["units"]) for r in by_units])
    colours = iter(["black", "dimgrey", "tab:brown", "tab:olive", "tab:cyan", "tab:pink"])
    for name, ms in references.items():
        colour = next(colours, "grey")
        for ax in (left, right):
            ax.axhline(ms, color=colour, linestyle="--", linewidth=1, label=f"{name}: {ms:g} ms")
    left.set_ylabel("time per step: predict + sample (ms)")
    handles, labels = right.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("Time per prediction (paper Figs. 8, 9), same run, this machine", fontsize=11)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return _save(fig, path)


# -- end to end -----------------------------------------------------------------------------------


def plot_live(
    round_trip_ms: np.ndarray, echo: Mapping[str, float], timing_ms: np.ndarray, path: Path
) -> Path:
    """Round-trip latency histogram (bare echo p50/p99 marked) and scheduled-event timing errors."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    top = float(np.percentile(round_trip_ms, 99.5)) * 1.3 if len(round_trip_ms) else 1.0
    bins = np.linspace(0.0, top, 60)
    left.hist(
        np.clip(round_trip_ms, 0, top),
        bins=bins,
        color="tab:green",
        alpha=0.8,
        label=f"foretell filter mode (p50 {np.median(round_trip_ms):.3f} ms)",
    )
    for key, style in (("echo_p50_ms", "--"), ("echo_p99_ms", ":")):
        if echo.get(key) is not None:
            left.axvline(
                echo[key],
                color="grey",
                linestyle=style,
                label=f"bare python-osc echo {key[5:8]}: {echo[key]:.3f} ms",
            )
    left.set_yscale("log")
    left.set(
        xlabel="OSC round trip /interface -> /prediction (ms)",
        ylabel="messages",
        title="Round trip, external client",
    )
    left.legend(fontsize=8)
    if len(timing_ms):
        right.hist(timing_ms, bins=50, color="tab:purple", alpha=0.8)
        right.axvline(
            np.percentile(timing_ms, 99),
            color="black",
            linestyle=":",
            label=f"p99 {np.percentile(timing_ms, 99):.3f} ms",
        )
        right.legend(fontsize=8)
    right.set(
        xlabel="|sent - scheduled| (ms)",
        ylabel="generated events",
        title="Timing of scheduled events (callresponse)",
    )
    fig.tight_layout()
    return _save(fig, path)


# -- touch traces (paper Fig. 10) -----------------------------------------------------------------


def _touch_trace(ax: Any, events: np.ndarray, title: str) -> None:
    from matplotlib.collections import LineCollection

    t = np.cumsum(events[:, 0]) - events[0, 0]
    pressure = events[:, 3] if events.shape[1] > 3 else np.full(len(events), 0.5)
    width = 0.4 + 4.0 * pressure[:-1]
    for column, colour, name in ((1, "tab:blue", "x"), (2, "tab:red", "y")):
        if column >= events.shape[1]:
            continue
        points = np.column_stack([t, events[:, column]])
        segments = np.stack([points[:-1], points[1:]], axis=1)
        ax.add_collection(
            LineCollection(list(segments), linewidths=width, colors=colour, label=name)
        )
    ax.set_xlim(0, max(float(t[-1]), 1e-3))
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def plot_touch_traces(
    traces: Mapping[tuple[float, float], np.ndarray], human: np.ndarray, path: Path
) -> Path:
    """A human trace on top, then one panel per (π, σ): rows π, columns σ."""
    plt = _pyplot()
    pis = sorted({p for p, _ in traces})
    sigmas = sorted({s for _, s in traces})
    fig = plt.figure(figsize=(2.9 * len(sigmas), 1.9 * (len(pis) + 1)))
    grid = fig.add_gridspec(len(pis) + 1, len(sigmas))
    top = fig.add_subplot(grid[0, :])
    _touch_trace(top, human, f"human performance (held out), {len(human)} events")
    top.legend(loc="upper right", fontsize=7, ncol=2)
    for i, p in enumerate(pis):
        for j, s in enumerate(sigmas):
            ax = fig.add_subplot(grid[i + 1, j])
            events = traces[(p, s)]
            _touch_trace(ax, events, f"π {p:g}, σ {s:g} ({len(events)} events)")
            if i == len(pis) - 1:
                ax.set_xlabel("time (s)", fontsize=8)
    fig.suptitle("Touch traces (paper Fig. 10): x blue, y red, line width = pressure", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


# -- quality --------------------------------------------------------------------------------------


def _column(events: np.ndarray, i: int) -> np.ndarray:
    """Column ``i`` of events, dt (column 0) as log10 seconds."""
    return np.log10(events[:, 0]) if i == 0 else events[:, i]


def plot_distributions(
    human: np.ndarray, generated: Mapping[str, np.ndarray], names: Sequence[str], path: Path
) -> Path:
    """Histograms of each column (dt on log10 s): held-out human vs generated events."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2))
    for i, (ax, name) in enumerate(zip(np.atleast_1d(axes), names, strict=True)):
        values = _column(human, i)
        low, high = np.percentile(values, [0.5, 99.5]) if i == 0 else (0.0, 1.0)
        bins = np.linspace(float(low), float(high), 40 if i == 0 else 33)
        ax.hist(
            values, bins=bins, density=True, color="black", alpha=0.25, label="human (held out)"
        )
        for label, events in generated.items():
            ax.hist(
                np.clip(_column(events, i), bins[0], bins[-1]),
                bins=bins,
                density=True,
                histtype="step",
                linewidth=1.3,
                label=label,
            )
        ax.set_xlabel("log10 dt (s)" if i == 0 else name)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("Distributions: generated vs held-out human events", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def plot_temperature_heatmaps(
    records: Sequence[Mapping[str, Any]],
    pis: Sequence[float],
    sigmas: Sequence[float],
    reference: Mapping[str, Any] | None,
    path: Path,
) -> Path:
    """Mean KS (all columns) and dt KS for each (π, σ); lower is closer to human playing."""
    plt = _pyplot()
    lookup = {(r["pi_temp"], r["sigma_temp"]): r for r in records}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (title, get) in zip(
        axes,
        (
            ("mean KS over dt and controls", lambda r: r["mean_ks"]),
            ("KS of dt", lambda r: r["dt"]["ks"]),
        ),
        strict=True,
    ):
        grid = np.array([[get(lookup[(p, s)]) for s in sigmas] for p in pis])
        image = ax.imshow(grid, cmap="viridis_r", aspect="auto", origin="lower")
        for (i, j), v in np.ndenumerate(grid):
            ax.text(
                j,
                i,
                f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > grid.mean() else "black",
            )
        ax.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas])
        ax.set_yticks(range(len(pis)), [f"{p:g}" for p in pis])
        ax.set(xlabel="σ-temperature", ylabel="π-temperature")
        extra = ""
        if reference is not None:
            ref = reference["mean_ks"] if title.startswith("mean") else reference["dt"]["ks"]
            extra = f" (human vs human: {ref:.2f})"
        ax.set_title(title + extra, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.85)
    fig.suptitle(
        "Generated vs held-out human: KS statistic per temperature (lower is closer)", fontsize=11
    )
    fig.tight_layout()
    return _save(fig, path)


def plot_heldout_nll(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> Path:
    """Grouped bars: held-out NLL per model/baseline (rows) on each held-out set (columns)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(7.0, 0.75 * len(rows) + 2), 4))
    width = 0.8 / max(len(columns), 1)
    for j, column in enumerate(columns):
        values = [r.get(column, np.nan) for r in rows]
        xs = np.arange(len(rows)) + (j - (len(columns) - 1) / 2) * width
        bars = ax.bar(xs, np.nan_to_num(values, nan=0.0), width, label=column)
        for bar, v in zip(bars, values, strict=True):
            if np.isfinite(v):
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    v,
                    f"{v:.1f}",
                    ha="center",
                    va="top" if v < 0 else "bottom",
                    fontsize=6,
                    rotation=90,
                )
    ax.set_xticks(
        np.arange(len(rows)), [r["label"] for r in rows], rotation=35, ha="right", fontsize=8
    )
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("held-out NLL per event (nats, lower is better)")
    ax.set_title("Held-out NLL: MDRNN sizes vs baselines", fontsize=11)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_calibration(
    coverages: Mapping[str, Mapping[str, float]], pit: np.ndarray, pit_label: str, path: Path
) -> Path:
    """Observed vs nominal coverage of predicted dt intervals; PIT histogram of one model."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    for label, cov in coverages.items():
        levels = sorted(cov, key=float)
        left.plot(
            [float(k) / 100 for k in levels], [cov[k] for k in levels], marker="o", label=label
        )
    left.set(
        xlabel="nominal central interval",
        ylabel="observed coverage",
        xlim=(0.4, 1),
        ylim=(min(0.3, *(v - 0.05 for c in coverages.values() for v in c.values())), 1.02),
        title="dt: coverage of predicted intervals",
    )
    left.legend(fontsize=7)
    left.grid(alpha=0.3)
    right.hist(pit, bins=20, range=(0, 1), density=True, color="tab:blue", alpha=0.7)
    right.axhline(1.0, color="grey", linestyle=":")
    right.set(xlabel="PIT F(dt)", ylabel="density", title=f"PIT of dt, {pit_label}")
    fig.tight_layout()
    return _save(fig, path)
