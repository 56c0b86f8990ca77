"""The report of ``foretell bench fidelity``: a markdown table, ``fidelity.json`` and figures.

Takes the result ``foretell.bench.fidelity.run_fidelity`` returns; measures nothing. Figures use
matplotlib (``foretell.plotting``); without it the page is written without them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from foretell.plotting import pyplot_or_none, save_figure

PAGE = "fidelity.md"
COLOURS = {"human": "0.35", "dense": "tab:orange", "default": "tab:blue"}
COLUMNS = (
    ("nll", "held-out NLL (common basis)", 3),
    ("moved_tv", "moved/event TV", 3),
    ("on_grid", "on grid/set", 3),
    ("ks_dt", "KS dt", 3),
    ("ks_mean_controls", "KS controls (mean)", 3),
    ("midi_messages", "MIDI msgs/event", 2),
    ("set_tv", "set histogram TV", 3),
    ("wall_seconds", "train wall s", 1),
    ("step_ms", "step ms", 3),
)


RATIOS = {"wall_seconds": "wall_ratio", "step_ms": "step_ratio"}


def spread(figure: dict[str, float] | None, digits: int) -> str:
    """``mean (min to max)``, or the mean alone for one seed, or n/a."""
    if figure is None:
        return "n/a"
    mean = f"{figure['mean']:.{digits}f}"
    if figure["min"] == figure["max"]:
        return mean
    return f"{mean} ({figure['min']:.{digits}f} to {figure['max']:.{digits}f})"


def grouped(words: Sequence[str]) -> str:
    """``a, a, b`` as ``2 x a, b`` (runs of the same description counted)."""
    runs: list[list[Any]] = []
    for word in words:
        if runs and runs[-1][0] == word:
            runs[-1][1] += 1
        else:
            runs.append([word, 1])
    return ", ".join(word if count == 1 else f"{count} x {word}" for word, count in runs)


def table_lines(result: dict[str, Any]) -> list[str]:
    """The summary as a markdown table: one row per instrument and model, means over the seeds
    with their range; the human reference beside moves and MIDI messages."""
    header = ["instrument", "model", "controls", *(title for _, title, _ in COLUMNS)]
    header.insert(header.index("moved/event TV") + 1, "moved/event (human)")
    header.insert(header.index("MIDI msgs/event") + 1, "MIDI (human)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    summary = {(row["instrument"], row["variant"]): row for row in result["summary"]}
    for name in result["instruments"]:
        for variant in ("dense", "default"):
            row = summary.get((name, variant))
            if row is None:
                lines.append(
                    f"| {name} | {variant} | " + " | ".join(["n/a"] * (len(header) - 2)) + " |"
                )
                continue
            cells = [name, variant, grouped(row["lattices"])]
            for key, _, digits in COLUMNS:
                cells.append(spread(row[key], digits))
                ratio = row.get(RATIOS.get(key, ""))
                if ratio is not None:
                    cells[-1] += f", {ratio['mean']:.2f}x dense"
                if key == "moved_tv":
                    cells.append(f"{row['moved_mean']:.2f} ({row['human_moved_mean']:.2f})")
                if key == "midi_messages":
                    cells.append(f"{row['human_midi_messages']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


# -- issue 31's goals against the run ------------------------------------------------------------

Goal = tuple[str, str, str, float, float]  # (instrument, words, figure, bound, sign)
GOALS: tuple[Goal, ...] = (
    ("knobs", "moved/event TV <= 0.05", "moved_tv", 0.05, 1),
    ("knobs", "on the grid = 100 %", "on_grid", 1.0, -1),
    ("knobs", "MIDI messages per event <= 1.1", "midi_messages", 1.1, 1),
    ("pads", "on a pad = 100 %", "on_grid", 1.0, -1),
    ("pads", "pad histogram TV <= 0.05", "set_tv", 0.05, 1),
)
NLL_BEATS = ("fader", "pads", "knobs")
NLL_WITHIN = {"lightpad-12k": 0.02}
COST_RATIO = 1.3


def goal_rows(result: dict[str, Any]) -> list[list[str]]:
    """Issue 31's goals for the default model, each with the figure this run measured (mean
    over the seeds) and whether it meets it; goals on instruments not run are left out."""
    rows = {(row["instrument"], row["variant"]): row for row in result["summary"]}
    out = []

    def add(words: str, value: float | None, met: bool | None, digits: int = 3) -> None:
        shown = "n/a" if value is None else f"{value:.{digits}f}"
        out.append([words, shown, "n/a" if met is None else ("yes" if met else "no")])

    for name, words, key, bound, sign in GOALS:
        row = rows.get((name, "default"))
        if row is not None:
            value = None if row[key] is None else row[key]["mean"]
            floor = row.get(f"{key}_floor")
            if floor:  # what sampling noise alone gives at this many held-out events
                words = f"{words} (a model playing exactly like the player: {floor['mean']:.3f})"
            add(f"{name}: {words}", value, None if value is None else sign * (value - bound) <= 0)
    for name in NLL_BEATS:
        default, dense = rows.get((name, "default")), rows.get((name, "dense"))
        if default is not None and dense is not None:
            gap = default["nll"]["mean"] - dense["nll"]["mean"]
            add(f"{name}: default NLL below dense (default - dense, nats)", gap, gap < 0)
    for name, slack in NLL_WITHIN.items():
        default, dense = rows.get((name, "default")), rows.get((name, "dense"))
        if default is not None and dense is not None:
            gap = default["nll"]["mean"] - dense["nll"]["mean"]
            add(f"{name}: default NLL within {slack} nats of dense", gap, gap <= slack)
    for key, words in (("wall_ratio", "training wall"), ("step_ratio", "NumPy step")):
        ratios = [row[key]["mean"] for row in result["summary"] if row.get(key)]
        if ratios:
            worst = max(ratios)
            add(f"{words} <= {COST_RATIO}x dense (worst instrument)", worst, worst <= COST_RATIO)
    return out


def goal_lines(result: dict[str, Any]) -> list[str]:
    rows = goal_rows(result)
    if not rows:
        return []
    return [
        "| goal (issue 31, default model) | measured | met |",
        "|---|---|---|",
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def cross_check(result: dict[str, Any]) -> str | None:
    """The largest gap between a dense model's common-basis NLL here and training's own code."""
    gaps = [
        abs(run["nll"] - run["nll_trace_cells"])
        for run in result["runs"]
        if run["variant"] == "dense" and run.get("nll_trace_cells") is not None
    ]
    if not gaps:
        return None
    return (
        f"the dense models' common-basis NLL, computed again by `foretell trace --basis cells`, "
        f"differs by at most {max(gaps):.4f} nats over {len(gaps)} models (both kept to 4 decimals)"
    )


def dense_defaults(result: dict[str, Any]) -> list[str]:
    """Instruments where the default model came out dense (every control continuous)."""
    return sorted(
        {
            run["instrument"]
            for run in result["runs"]
            if run["variant"] == "default" and run.get("model_kinds") is None
        }
    )


# -- figures --------------------------------------------------------------------------------------


def pooled(runs: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.mean([run[key] for run in runs], axis=0)


def plot_moved(result: dict[str, Any], path: Path) -> Path | None:
    """Per instrument: the share of events moving 0..N controls, human and each model (mean over
    seeds)."""
    plt = pyplot_or_none("fidelity figure")
    if plt is None:
        return None
    names = result["instruments"]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        mine = [r for r in result["runs"] if r["instrument"] == name]
        series = {"human": pooled(mine, "human_moved")}
        for variant in result["variants"]:
            series[variant] = pooled([r for r in mine if r["variant"] == variant], "moved")
        width = 0.8 / len(series)
        for i, (label, shares) in enumerate(series.items()):
            x = np.arange(len(shares)) + (i - (len(series) - 1) / 2) * width
            ax.bar(x, shares, width, label=label, color=COLOURS.get(label))
        ax.set_title(name)
        ax.set_xlabel("controls moved per event")
        ax.set_xticks(range(len(shares)))
    axes[0][0].set_ylabel("share of events")
    axes[0][0].legend(fontsize=8)
    return save_figure(plt, fig, path)


def plot_summary(result: dict[str, Any], path: Path) -> Path | None:
    """Four measures per instrument and model (bars: mean over seeds; whiskers: range)."""
    plt = pyplot_or_none("fidelity figure")
    if plt is None:
        return None
    panels = (
        ("moved_tv", "moved/event TV to human"),
        ("on_grid", "share of values on grid/set"),
        ("midi_messages", "MIDI messages per event"),
        ("ks_mean_controls", "KS per control (mean)"),
    )
    names = result["instruments"]
    rows = {(row["instrument"], row["variant"]): row for row in result["summary"]}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.4))
    width = 0.8 / len(result["variants"])
    for ax, (key, title) in zip(axes, panels, strict=True):
        for i, variant in enumerate(result["variants"]):
            x = np.arange(len(names)) + (i - (len(result["variants"]) - 1) / 2) * width
            figures = [rows[(name, variant)][key] for name in names]
            means = [np.nan if f is None else f["mean"] for f in figures]
            low = [0 if f is None else max(f["mean"] - f["min"], 0.0) for f in figures]
            high = [0 if f is None else max(f["max"] - f["mean"], 0.0) for f in figures]
            ax.bar(x, means, width, yerr=[low, high], label=variant, color=COLOURS[variant])
            for position, mean in zip(x, means, strict=True):
                if np.isnan(mean):
                    ax.text(position, 0, "n/a", ha="center", va="bottom", fontsize=7)
        if key == "midi_messages":
            human = [rows[(name, result["variants"][0])]["human_midi_messages"] for name in names]
            ax.scatter(
                range(len(names)), human, color="k", marker="_", s=400, label="human", zorder=3
            )
        ax.set_title(title, fontsize=10)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, fontsize=8)
    axes[0].legend(fontsize=8)
    return save_figure(plt, fig, path)


def plot_sets(result: dict[str, Any], path: Path) -> Path | None:
    """The histogram of each set control (the pads): human and each model, mean over seeds."""
    found = [
        (name, key)
        for name in result["instruments"]
        for key in next(r for r in result["runs"] if r["instrument"] == name)["set_histograms"]
    ]
    plt = pyplot_or_none("fidelity figure") if found else None
    if plt is None:
        return None
    fig, axes = plt.subplots(1, len(found), figsize=(4.5 * len(found), 3.0), squeeze=False)
    for ax, (name, key) in zip(axes[0], found, strict=True):
        mine = [r for r in result["runs"] if r["instrument"] == name]
        values = mine[0]["set_histograms"][key]["values"]
        series = {"human": np.mean([r["set_histograms"][key]["human"] for r in mine], axis=0)}
        for variant in result["variants"]:
            picked = [
                r["set_histograms"][key]["generated"] for r in mine if r["variant"] == variant
            ]
            series[variant] = np.mean(picked, axis=0)
        width = 0.8 / len(series)
        for i, (label, shares) in enumerate(series.items()):
            x = np.arange(len(values)) + (i - (len(series) - 1) / 2) * width
            ax.bar(x, shares, width, label=label, color=COLOURS.get(label))
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([f"{v:.2f}" for v in values], fontsize=7)
        ax.set_title(f"{name} {key}: share of events per value")
    axes[0][0].legend(fontsize=8)
    return save_figure(plt, fig, path)


# -- the page -------------------------------------------------------------------------------------

METHOD = """\
How each figure is measured (`foretell/bench/fidelity.py`, `fidelity_metrics.py`,
`common_basis.py`):

- **Held-out data.** Each instrument's test set is held out as `foretell bench train` holds it
  out (whole performances, or each performance's tail); both models train on the rest with the
  same seed and are measured on the same held-out performances. Synthetic instruments are drawn
  with the seed, so the seeds' range covers the data as well as the training.
- **Grid/set** (column *controls*): what values each control takes in the training data: a set
  (at most 16 distinct values: the pads), a grid k/M (every value a multiple of 1/M: 7-bit MIDI's
  1/127, the LightPad's 1/128) or continuous.
- **Held-out NLL on the common basis** (nats per event, lower is better): a grid or set
  control's value scored as the probability of its cell (the grid step around it, or the span
  between the midpoints to the neighbouring set values; the end cells, at 0 and 1 on a grid
  and at a set's smallest and largest value, reach to infinity, as a clipped sample lands
  there), dt and continuous controls by their density. A
  model that reports its own common-basis NLL in its trace (`nll_basis`) is scored by that; a
  dense mixture's cell probability is its density integrated over the cell: for each diagonal
  Gaussian component (after the model's affine data transform) the product over cell controls of
  Phi(b) - Phi(a), times the densities of the others, summed over components with the floor
  component. Brute-force checks: `tests/bench/test_fidelity_metrics.py`; and each dense
  model's figure is computed a second time by training's own code (`foretell trace --basis
  cells`, with the kinds `foretell train` detects): `nll_trace_cells` in the JSON.
- **Generated playing.** For each held-out performance the model is given its first event and
  plays as many events as follow it (π and σ temperature 1), fed its own samples; 20 times
  (`--plays`), each play with its own generator, and every measure below pools the plays
  against the one held-out human playing. One free run is not enough: a model's playing runs
  in phrases (on the knobs, a slow turn repeats its 7-bit value for tens of events), so one
  play's moved/event TV wanders with the phrases it happens to play (`moved_tv_one_play` in
  the JSON: its median and range over the plays). Beside the plays, the model fed the held-out
  human playing draws one sample after each human event, as many times
  (`moved_tv_one_step` in the JSON: the moved/event TV of those samples against the human's
  moves): a gap there is in the model's head, a gap only in the plays comes of playing on its
  own samples.
- **moved/event TV**: a control moves when its value differs from the previous row's by more
  than the engine's `MOVE_TOLERANCE` (1e-6: what the engine sends as moved; a moves model
  handed back a value it kept rounded to float32, which an exact comparison counted as a move,
  until the runtime returned kept values exactly); the
  share of events moving 0..N controls, generated against human, by total variation distance
  (0.5 Σ|p - q|: 0 the same, 1 disjoint). The next column gives the mean number moved.
- **on grid/set**: the share of generated values of grid and set controls on the data's grid or
  set (n/a where every control is continuous).
- **KS**: two-sample Kolmogorov-Smirnov statistic, generated against human, for dt and each
  control (the mean over controls in the table; each in `fidelity.json`).
- **MIDI msgs/event**: messages per event sent by an encoder that sends only changed values (the
  controls whose 7-bit value `round(127 v)` changed), beside the human playing's.
- **set histogram TV**: for a set control (the pads' pad), the share of events on each value
  (a generated value counted at the nearest), generated against human.
- **TV floors** (the goals table, `moved_tv_floor` and `set_tv_floor` in the JSON): a TV between
  two finite samples is above 0 even where both come from one distribution. The floor is the mean
  TV between two samples drawn from the human distribution (2000 multinomial draws), of the
  generated and held-out sizes counted in effective events: each side's events over the
  integrated autocorrelation time of its own series (of the moved count, or of the set value;
  per outcome's indicator, weighted by its variance; lags within a play of one performance,
  summed to Sokal's window of 5 times the time): what a model playing exactly like the player
  would score. `moved_effective_events` gives both sizes; `moved_tv_floor_independent` the
  floor were every event independent (too low where playing runs in phrases).
- **train wall s**: `foretell train` from launch to saved model (a fresh process; the models
  train in turn, which first alternating from seed to seed); **step ms**: the NumPy step
  (observe + sample), the models taking turns step by step, median of 2000 steps each. For the
  default, each also as a ratio to dense's, seed by seed (the mean of the ratios).
"""


def paragraphs(result: dict[str, Any]) -> list[str]:
    """The run's notes, the cross-check and the dense defaults, one paragraph each."""
    texts = [f"Note: {note}." for note in result["notes"]]
    check = cross_check(result)
    if check:
        texts.append(f"Check: {check}.")
    if dense_defaults(result):
        texts.append(
            f"Note: on {', '.join(dense_defaults(result))} the default picked every control "
            "continuous, which is the dense model: the two rows differ only by the machine's "
            "noise in the timings."
        )
    return [line for text in texts for line in (text, "")]


def page(result: dict[str, Any], figures: Sequence[tuple[str, str]]) -> list[str]:
    m = result["machine"]
    loads = m["load_average"]
    options = (
        f"--instruments {','.join(result['instruments'])} --seeds "
        f"{','.join(map(str, result['seeds']))} --size {result['size']} --scale {result['scale']:g}"
        + (f" --epochs {result['epochs']}" if result.get("epochs") else "")
    )
    lines = [
        "# Fidelity: does the model play like the player's hands?",
        "",
        f"Made by `foretell bench fidelity {options} --out docs/evaluation` in "
        f"{result['wall_seconds'] / 60:.1f} minutes on {m['cpu']} ({m['cores']} cores), "
        f"load average {loads['start']} at the start, {loads['end']} at the end"
        + (
            " (the cores were shared with other work: timings are conservative)"
            if max(loads["start"][0], loads["end"][0]) > m["cores"]  # the bench itself uses them
            else " (the machine otherwise quiet)"
        )
        + ", commit "
        f"`{m['git']['commit']}`"
        + (
            f" (with uncommitted changes to {', '.join(m['git']['uncommitted'])})"
            if m["git"].get("uncommitted")
            else ""
        )
        + ". Every number is in [fidelity.json](fidelity.json).",
        "",
        "Dense (`foretell train --dense`: one Gaussian mixture over every control, IMPSY's model) "
        "against the default (`foretell train` with no option), on each synthetic instrument of "
        "`foretell.bench.instruments` and LightPad 12k. Each cell: mean over seeds "
        f"{', '.join(map(str, result['seeds']))} (range in parentheses).",
        "",
        *table_lines(result),
        "",
        *paragraphs(result),
        *(["## Issue 31's goals", "", *goal_lines(result), ""] if goal_lines(result) else []),
        "## Figures",
        "",
        *[f"![{title}]({file})" for file, title in figures],
        "",
        "## Method",
        "",
        METHOD,
    ]
    return lines


def write_report(result: dict[str, Any], out: Path) -> Path:
    """Write ``fidelity.json``, the figures and ``fidelity.md`` to ``out``; returns the page."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "fidelity.json").write_text(json.dumps(result, indent=1))
    drawn = [
        (
            plot_moved(result, out / "fidelity-moved.png"),
            "Controls moved per event: human and models",
        ),
        (
            plot_summary(result, out / "fidelity-summary.png"),
            "Moves, grid, MIDI messages and KS per instrument",
        ),
        (
            plot_sets(result, out / "fidelity-sets.png"),
            "Set controls (pads): share of events per value",
        ),
    ]
    figures = [(path.name, title) for path, title in drawn if path is not None]
    path = out / PAGE
    path.write_text("\n".join(page(result, figures)))
    return path
