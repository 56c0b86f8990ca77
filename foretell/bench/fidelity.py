"""``foretell bench fidelity``: does the model play like the player's hands? Dense against default.

For each instrument (the synthetic ``fader``, ``pads``, ``knobs``, ``sensors`` of
``foretell.bench.instruments``, drawn with the run's seed, and the bundled LightPad 12k) the test
set is held out as ``foretell bench train`` holds it out, and ``foretell train`` runs in a fresh
process on the rest, once per variant and seed: ``dense`` (``--dense``: one Gaussian mixture
over every control, IMPSY's model) and ``default`` (what ``foretell train`` picks with no
option). Until ``foretell train`` has a ``--dense`` option its default is the dense model: the
bench then runs that as ``dense`` and reports ``default`` as n/a.

Each saved model is measured on the same held-out performances (the measures are in
``foretell.bench.fidelity_metrics`` and ``foretell.bench.common_basis``):

- **held-out NLL on the common basis**: grid and set controls (found in the training data)
  scored as the probability of the value's cell, dt and continuous controls by density; the
  trace's own number where it reports a common ``nll_basis``, else the dense mixture integrated
  over each cell;
- **generated playing**: for each held-out performance the model is given its first event and
  plays as many events as follow it, fed its own samples; ``--plays`` (20) times, each play
  with its own generator (seeded ``[seed, play]``), all plays pooled against the human events
  that follow: the distribution of controls moved per event and its total variation distance
  (and each play's alone: one free run wanders with the phrases it happens to play), the share
  of values on the data's grid or set, KS per control and for dt, MIDI messages per event if
  sent by an encoder that sends only changed 7-bit values, and the histogram of each set
  control (the pads) by total variation;
- **moves one step at a time**: the model fed the held-out playing, one sample after each
  human event, its moved count against the human's (``moved_tv_one_step``): a gap there is the
  model's head, a gap only in the free plays comes of playing on its own samples;
- **TV floors**: what a model playing exactly like the player would score by chance: the TV
  between two samples of the human distribution, of the generated and held-out sizes, each
  counted in effective events (events over the autocorrelation time of its own playing, as
  phrases make neighbouring events alike); beside it the floor for independent events;
- **cost**: training wall time (launch to saved model; the variants train in turn, in
  alternating order from seed to seed) and the NumPy step (observe + sample), the models taking
  turns step by step (median of 2000 each); each against dense's, seed by seed.

``--out DIR`` writes ``fidelity.md`` (the table), ``fidelity.json`` and the figures there. This
measures; it asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench import fidelity_metrics as fm
from foretell.bench.common_basis import basis_of, common_log_likelihood
from foretell.bench.evaluation_setup import load_average, machine_info
from foretell.bench.instruments import INSTRUMENTS
from foretell.bench.registry import register
from foretell.bench.train import timed_train
from foretell.data.dataset import Dataset, bundled_dataset_path, load_dataset, save_dataset
from foretell.errors import ConfigError
from foretell.model.control_kinds import ControlKind
from foretell.model.fileformat import ModelSpec
from foretell.train.batches import split_test

LIGHTPAD = "lightpad-12k"
NAMES = (*INSTRUMENTS, LIGHTPAD)
DEFAULT_SEEDS = "0,1,2"
DEFAULT_PLAYS = 20  # independent plays of each held-out performance per model


@dataclass(frozen=True)
class Variant:
    """A way of training: its name in the report and the options ``foretell train`` gets."""

    name: str
    options: tuple[str, ...]


def train_has_dense() -> bool:
    """Whether ``foretell train`` can be asked for today's dense model (``--dense``): its help,
    from a fresh process as the bench trains."""
    done = subprocess.run(
        [sys.executable, "-m", "foretell", "train", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and "--dense" in done.stdout


VARIANTS = {
    "dense": Variant("dense", ("--dense",)),
    "default": Variant("default", ()),
    "absolute": Variant("absolute", ("--grid-centres", "absolute")),  # a moves model's grids
    "relative": Variant("relative", ("--grid-centres", "relative")),  # centred on the previous
    "auto": Variant("auto", ("--grid-centres", "auto")),  # value, or where steps are small
    "gated": Variant("gated", ("--grid-centres", "gated")),  # auto where it did not just move
    "steps": Variant("steps", ("--step-inputs", "on")),  # the network reads the grids' steps
    "no-steps": Variant("no-steps", ("--step-inputs", "off")),  # or does not
}


def variants(has_dense: bool, names: Sequence[str] = ("dense", "default")) -> list[Variant]:
    """The variants named (dense and default unless asked) when training offers a dense
    model; else the default, which is dense."""
    if has_dense:
        return [VARIANTS[name] for name in names]
    return [Variant("dense", ())]


def instrument_data(name: str, seed: int, scale: float) -> Dataset:
    """A synthetic instrument drawn with ``seed``; LightPad 12k cut to ``scale`` of each
    performance (at least 20 events each) when ``scale < 1``."""
    if name in INSTRUMENTS:
        return INSTRUMENTS[name].dataset(seed, scale)
    full = load_dataset(bundled_dataset_path())
    if scale >= 1.0:
        return full
    cut = tuple(p[: max(int(len(p) * scale), 20)] for p in full.performances)
    return Dataset(cut, full.dimension, full.name)


# -- one trained model, measured -----------------------------------------------------------------


def held_out_nll(
    model: Path,
    held_out: Sequence[np.ndarray],
    controls: Sequence[fm.Lattice],
    trainable: np.ndarray,
) -> dict[str, Any]:
    """Mean held-out NLL per event on the common basis: a model with control kinds as its trace
    scores it (its own cells), a dense one as its mixture integrated over the data's cells
    (``common_basis``); beside it, a dense model's density NLL and the trace's own cells score
    (with the kinds training detects in ``trainable``: a check on ``common_basis``)."""
    from foretell.model.control_kinds import detect_kinds, kinds_of
    from foretell.model.protocol import load_voice
    from foretell.model.trace import trace_dataset

    voice = load_voice(model, seed=0)
    spec = voice.model.file.spec
    data = Dataset(tuple(held_out), held_out[0].shape[1], "held-out")
    traced = trace_dataset(voice, data)
    summary = traced.summary()
    kinds_of_model = kinds_of(spec)
    if kinds_of_model is not None or not isinstance(spec, ModelSpec):
        return {
            "nll": round(summary["mean_nll"], 4),
            "nll_from": f"trace ({summary['nll_basis']}, the model's own kinds)",
            "model_kinds": [describe_kind(kind) for kind in kinds_of_model or ()],
            "nll_density": None,
            "nll_trace_cells": round(summary["mean_nll"], 4),
            "nll_basis": basis_of(controls),
            "scored_events": int(summary["events"]),
        }
    mine = np.concatenate(
        [
            -common_log_likelihood(spec, raw[:-1], segment[1:], controls)
            for raw, segment in zip(traced.raw, held_out, strict=True)
        ]
    )
    kinds = detect_kinds(trainable)
    checked = trace_dataset(voice, data, cells=kinds).summary()
    return {
        "nll": round(float(mine.mean()), 4),
        "nll_from": "cells of the dense mixture",
        "model_kinds": None,
        "nll_density": round(summary["mean_nll"], 4),
        "nll_trace_cells": round(checked["mean_nll"], 4),
        "nll_basis": basis_of(controls),
        "scored_events": int(mine.size),
    }


def describe_kind(kind: ControlKind) -> str:
    """A control kind of a model file in the words of ``Lattice.describe``."""
    if kind.kind == "set":
        return f"set of {len(kind.values)}"
    if kind.kind == "grid":
        return f"grid 1/{round(1 / kind.step)}, {kind.levels} levels from {kind.origin:.4g}"
    return "continuous"


def generate_beside(
    model: Path, held_out: Sequence[np.ndarray], seed: int, plays: int
) -> tuple[list[list[np.ndarray]], np.ndarray]:
    """``plays`` independent plays of the held-out performances, each with its own generator
    (seeded ``[seed, play]``): per play and held-out performance, the model's own events after
    its first one (as many as follow it); and the milliseconds of every step (observe + sample)."""
    from foretell.model.protocol import load

    loaded = load(model)
    played: list[list[np.ndarray]] = []
    times = []
    clock = time.perf_counter_ns
    for play in range(plays):
        voice = loaded.voice(np.random.default_rng([seed, play]))
        one = []
        for segment in held_out:
            voice.reset()
            event = np.asarray(segment[0], dtype=np.float64)
            out = np.empty((len(segment) - 1, segment.shape[1]))
            for i in range(len(out)):
                start = clock()
                event = voice.sample(voice.observe(event))
                times.append(clock() - start)
                out[i] = event
            one.append(out)
        played.append(one)
    return played, np.asarray(times) / 1e6


def one_step_moves(
    model: Path, held_out: Sequence[np.ndarray], seed: int, plays: int
) -> list[np.ndarray]:
    """The model fed the held-out playing (teacher forced): after each human event, how many
    controls one sample of the next event moves against it; ``plays`` times, each with its own
    generator (seeded ``[seed, play, 1]``), one array per play and performance."""
    from foretell.model.protocol import load

    loaded = load(model)
    counts = []
    for play in range(plays):
        voice = loaded.voice(np.random.default_rng([seed, play, 1]))
        for segment in held_out:
            voice.reset()
            human = np.asarray(segment, dtype=np.float64)
            drawn = np.array([voice.sample(voice.observe(event)) for event in human[:-1]])
            counts.append((drawn[:, 1:] != human[:-1, 1:]).sum(axis=1))
    return counts


def one_step_measures(
    counts: Sequence[np.ndarray], held_out: Sequence[np.ndarray], controls: int
) -> dict[str, Any]:
    """Moves per event drawn one step at a time on the human playing, against the human's: a
    gap here is the model's head; a gap only when it plays on its own is its free running."""
    firsts = [segment[0] for segment in held_out]
    human = fm.count_distribution(fm.moved_counts([s[1:] for s in held_out], firsts), controls)
    drawn = fm.count_distribution(np.concatenate(counts), controls)
    return {
        "moved_one_step": [round(float(p), 4) for p in drawn],
        "moved_tv_one_step": round(fm.total_variation(drawn, human), 4),
    }


def playing_measures(
    played: Sequence[Sequence[np.ndarray]],
    held_out: Sequence[np.ndarray],
    controls: Sequence[fm.Lattice],
) -> dict[str, Any]:
    """Every measure of generated playing (``played``: plays, each one run per held-out
    performance, all plays pooled) against the human events it stands beside; the TV floors
    with the effective sizes of both sides (``fm.effective_events``)."""
    firsts = [segment[0] for segment in held_out]
    human = [segment[1:] for segment in held_out]
    runs = [run for play in played for run in play]
    before = firsts * len(played)
    n = len(controls)
    generated_counts = fm.moved_count_series(runs, before)
    human_counts = fm.moved_count_series(human, firsts)
    moves = fm.count_distribution(np.concatenate(generated_counts), n)
    human_moves = fm.count_distribution(np.concatenate(human_counts), n)
    per_play = [
        fm.total_variation(fm.count_distribution(fm.moved_counts(play, firsts), n), human_moves)
        for play in played
    ]
    moved_sizes = (
        fm.effective_events(generated_counts, n + 1),
        fm.effective_events(human_counts, n + 1),
    )
    generated, reference = np.concatenate(runs), np.concatenate(human)
    ks = fm.ks_columns(generated, reference)
    sets = {
        f"x{j}": (
            lattice,
            fm.set_histogram(generated[:, j], lattice),
            fm.set_histogram(reference[:, j], lattice),
            set_sizes(runs, human, j, lattice),
        )
        for j, lattice in enumerate(controls, 1)
        if lattice.kind == "set"
    }
    histograms = {
        key: {
            "values": [round(v, 4) for v in lattice.values],
            "generated": [round(float(p), 4) for p in mine],
            "human": [round(float(p), 4) for p in theirs],
        }
        for key, (lattice, mine, theirs, _) in sets.items()
    }
    on = fm.share_on_lattice(generated, controls)
    return {
        "moved": [round(float(p), 4) for p in moves],
        "human_moved": [round(float(p), 4) for p in human_moves],
        "moved_tv": round(fm.total_variation(moves, human_moves), 4),
        "moved_tv_floor": round(fm.sampling_tv(human_moves, moved_sizes), 4),
        "moved_tv_floor_independent": round(
            fm.sampling_tv(human_moves, (len(generated), len(reference))), 4
        ),
        "moved_effective_events": {
            "generated": round(moved_sizes[0], 1),
            "human": round(moved_sizes[1], 1),
        },
        "moved_tv_one_play": {
            "median": round(float(np.median(per_play)), 4),
            "min": round(min(per_play), 4),
            "max": round(max(per_play), 4),
        },
        "moved_mean": round(float(np.arange(n + 1) @ moves), 3),
        "human_moved_mean": round(float(np.arange(n + 1) @ human_moves), 3),
        "on_lattice": {k: None if v is None else round(v, 6) for k, v in on.items()},
        "ks": {k: round(v, 4) for k, v in ks.items()},
        "ks_mean_controls": round(float(np.mean([ks[f"x{j}"] for j in range(1, n + 1)])), 4),
        "midi_messages": round(float(fm.midi_messages(runs, before).mean()), 3),
        "human_midi_messages": round(float(fm.midi_messages(human, firsts).mean()), 3),
        "set_tv": {
            key: round(fm.total_variation(mine, theirs), 4)
            for key, (_, mine, theirs, _) in sets.items()
        },
        "set_tv_floor": {
            key: round(fm.sampling_tv(theirs, sizes), 4)
            for key, (_, _, theirs, sizes) in sets.items()
        },
        "set_histograms": histograms,
        "plays": len(played),
        "generated_events": len(generated),
    }


def set_sizes(
    runs: Sequence[np.ndarray], human: Sequence[np.ndarray], column: int, lattice: fm.Lattice
) -> tuple[float, float]:
    """The effective events of a set control's histogram, generated and human."""
    return (
        fm.effective_events(
            [fm.nearest_in_set(r[:, column], lattice.values) for r in runs], len(lattice.values)
        ),
        fm.effective_events(
            [fm.nearest_in_set(h[:, column], lattice.values) for h in human], len(lattice.values)
        ),
    )


STEPS_SIDE_BY_SIDE = 2000
WARMUP_STEPS = 200


def side_by_side_steps(models: Sequence[Path], first: np.ndarray) -> list[np.ndarray]:
    """Milliseconds per step (observe + sample, each model playing on from ``first``), the
    models taking turns step by step so that both see the same machine."""
    from foretell.model.protocol import load_voice

    voices = [load_voice(model, seed=0) for model in models]
    events = [np.asarray(first, dtype=np.float64) for _ in voices]
    times = np.empty((len(voices), STEPS_SIDE_BY_SIDE))
    clock = time.perf_counter_ns
    for i in range(-WARMUP_STEPS, STEPS_SIDE_BY_SIDE):
        for m, voice in enumerate(voices):
            start = clock()
            events[m] = voice.sample(voice.observe(events[m]))
            if i >= 0:
                times[m, i] = clock() - start
    return list(times / 1e6)


def measure_model(
    model: Path,
    held_out: Sequence[np.ndarray],
    controls: Sequence[fm.Lattice],
    trainable: np.ndarray,
    seed: int,
    plays: int,
) -> dict[str, Any]:
    played, step_ms = generate_beside(model, held_out, seed, plays)
    one_step = one_step_moves(model, held_out, seed, plays)
    return {
        **held_out_nll(model, held_out, controls, trainable),
        **playing_measures(played, held_out, controls),
        **one_step_measures(one_step, held_out, len(controls)),
        "step_ms_generating": round(float(np.median(step_ms)), 4),
    }


def bench_one(
    name: str,
    seed: int,
    scale: float,
    size: str,
    chosen: Sequence[Variant],
    epochs: int | None,
    plays: int = DEFAULT_PLAYS,
) -> list[dict[str, Any]]:
    """Hold out ``name``'s test set, train each variant on the rest (in turn, the first
    variant first on even seeds and last on odd ones), measure each model, and time their steps
    side by side."""
    dataset = instrument_data(name, seed, scale)
    split = split_test(dataset)
    trainable = list(split.trainable.performances)
    held_out = [segment for segment in split.test if len(segment) > 1]
    events = np.concatenate(trainable)
    controls = fm.lattices(events)
    extra = () if epochs is None else ("--epochs", str(epochs))
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="foretell-bench-fidelity-") as tmp:
        data = Path(tmp) / f"{name}.npz"
        save_dataset(data, trainable)
        models = {variant.name: Path(tmp) / f"{name}-{variant.name}.ftm" for variant in chosen}
        for variant in chosen if seed % 2 == 0 else list(reversed(chosen)):
            timed = timed_train(
                data, models[variant.name], size, seed, *variant.options, *extra, dense=False
            )
            runs[variant.name] = {
                "instrument": name,
                "variant": variant.name,
                "seed": seed,
                "controls": dataset.dimension - 1,
                "events": dataset.events,
                "lattices": [lattice.describe() for lattice in controls],
                "wall_seconds": timed["wall_seconds"],
                "epochs_run": timed.get("epochs_run"),
                **measure_model(models[variant.name], held_out, controls, events, seed, plays),
            }
        steps = side_by_side_steps(list(models.values()), held_out[0][0])
    for variant_name, times in zip(models, steps, strict=True):
        runs[variant_name]["step_ms"] = round(float(np.median(times)), 4)
        runs[variant_name]["step_p99_ms"] = round(float(np.percentile(times, 99)), 4)
    return [runs[variant.name] for variant in chosen]


# -- the summary over seeds ----------------------------------------------------------------------

HEADLINE = (
    "nll",
    "moved_tv",
    "on_grid",
    "ks_dt",
    "ks_mean_controls",
    "midi_messages",
    "set_tv",
    "wall_seconds",
    "step_ms",
    "moved_tv_floor",
    "set_tv_floor",
)


def headline(run: dict[str, Any]) -> dict[str, float | None]:
    """One run's headline figures (``set_tv``: the worst set control; None where none)."""
    return {
        "nll": run["nll"],
        "moved_tv": run["moved_tv"],
        "on_grid": run["on_lattice"]["all"],
        "ks_dt": run["ks"]["dt"],
        "ks_mean_controls": run["ks_mean_controls"],
        "midi_messages": run["midi_messages"],
        "set_tv": max(run["set_tv"].values()) if run["set_tv"] else None,
        "wall_seconds": run["wall_seconds"],
        "step_ms": run["step_ms"],
        "moved_tv_floor": run.get("moved_tv_floor"),
        "set_tv_floor": max(run["set_tv_floor"].values()) if run.get("set_tv_floor") else None,
    }


def summarise(
    runs: Sequence[dict[str, Any]], names: Sequence[str], chosen: Sequence[str]
) -> list[dict[str, Any]]:
    """Per instrument and variant: each headline figure's mean and range over the seeds, the
    human reference, and the default/dense ratios of training wall and step."""
    rows = []
    for name in names:
        for variant in chosen:
            mine = [r for r in runs if r["instrument"] == name and r["variant"] == variant]
            if not mine:
                continue
            figures: dict[str, Any] = {}
            for key in HEADLINE:
                values = [v for v in (headline(r)[key] for r in mine) if v is not None]
                figures[key] = (
                    {
                        "mean": round(statistics.fmean(values), 4),
                        "min": min(values),
                        "max": max(values),
                    }
                    if values
                    else None
                )
            figures.update(ratios_to_dense(runs, name, variant))
            rows.append(
                {
                    "instrument": name,
                    "variant": variant,
                    "seeds": [r["seed"] for r in mine],
                    "lattices": mine[0]["lattices"],
                    "human_midi_messages": round(
                        statistics.fmean(r["human_midi_messages"] for r in mine), 3
                    ),
                    "human_moved_mean": round(
                        statistics.fmean(r["human_moved_mean"] for r in mine), 3
                    ),
                    "moved_mean": round(statistics.fmean(r["moved_mean"] for r in mine), 3),
                    **figures,
                }
            )
    return rows


def ratios_to_dense(
    runs: Sequence[dict[str, Any]], name: str, variant: str
) -> dict[str, dict[str, float] | None]:
    """``wall_ratio`` and ``step_ratio``: the variant's against dense's, seed by seed (mean and
    range over the seeds; None for dense itself)."""
    out: dict[str, dict[str, float] | None] = {"wall_ratio": None, "step_ratio": None}
    if variant == "dense":
        return out
    pairs = [
        (r, d)
        for r in runs
        for d in runs
        if r["instrument"] == d["instrument"] == name
        and r["seed"] == d["seed"]
        and r["variant"] == variant
        and d["variant"] == "dense"
    ]
    for key, figure in (("wall_ratio", "wall_seconds"), ("step_ratio", "step_ms")):
        values = [r[figure] / d[figure] for r, d in pairs if d[figure] > 0]
        if values:
            out[key] = {
                "mean": round(statistics.fmean(values), 3),
                "min": round(min(values), 3),
                "max": round(max(values), 3),
            }
    return out


def parse_names(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in NAMES]
    if unknown or not chosen:
        raise ConfigError(f"unknown instrument {unknown[:1]} (choose from {', '.join(NAMES)})")
    return chosen


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds takes comma-separated integers, not {text!r}") from None
    if not seeds:
        raise ConfigError("--seeds needs at least one seed")
    return seeds


def run_fidelity(
    names: Sequence[str],
    seeds: Sequence[int],
    size: str,
    scale: float,
    epochs: int | None = None,
    plays: int = DEFAULT_PLAYS,
    variant_names: Sequence[str] = ("dense", "default"),
) -> dict[str, Any]:
    """Every instrument, seed and variant; the runs, their summary and what the machine did."""
    has_dense = train_has_dense()
    chosen = variants(has_dense, variant_names)
    started, load_start = time.perf_counter(), load_average()
    machine = machine_info()  # the commit at launch: the code that measures
    runs = [
        run
        for name in names
        for seed in seeds
        for run in bench_one(name, seed, scale, size, chosen, epochs, plays)
    ]
    notes = (
        []
        if has_dense
        else [
            "foretell train has no --dense option here: its default is the dense model, "
            "measured as 'dense'; 'default' is n/a"
        ]
    )
    return {
        "instruments": list(names),
        "seeds": list(seeds),
        "size": size,
        "scale": scale,
        "epochs": epochs,
        "plays": plays,
        "variants": [v.name for v in chosen],
        "default_available": has_dense,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": {**machine, "load_average": {"start": load_start, "end": load_average()}},
        "summary": summarise(runs, names, [v.name for v in chosen]),
        "runs": runs,
        "notes": notes,
    }


@register
@click.command("fidelity")
@click.option(
    "--instruments",
    default=",".join(NAMES),
    show_default=True,
    help="Comma-separated instruments (the synthetic ones and lightpad-12k).",
)
@click.option(
    "--seeds",
    default=DEFAULT_SEEDS,
    show_default=True,
    help="Comma-separated seeds (data and training).",
)
@click.option("--size", default="s", show_default=True, help="Size preset to train.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.01, 10.0),
    help="Times each instrument's events (fader 10k, pads 30k, knobs 50k, sensors 100k; "
    "LightPad cut, never grown).",
)
@click.option(
    "--epochs",
    type=click.IntRange(1),
    help="Train this many epochs at most [default: training's own choice].",
)
@click.option(
    "--plays",
    default=DEFAULT_PLAYS,
    show_default=True,
    type=click.IntRange(1),
    help="Independent plays of each held-out performance per model (each its own generator).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write fidelity.md, fidelity.json and the figures to this folder (e.g. docs/evaluation).",
)
@click.option(
    "--variants",
    "variant_names",
    default="dense,default",
    show_default=True,
    help="Comma-separated ways of training: dense, default, absolute, relative, auto, gated (a "
    "moves model's --grid-centres), steps, no-steps (its --step-inputs on or off).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fidelity(
    instruments: str,
    seeds: str,
    size: str,
    scale: float,
    epochs: int | None,
    plays: int,
    out: Path | None,
    variant_names: str,
    as_json: bool,
) -> None:
    """Train dense and default models on each instrument and measure how they play against
    held-out human playing: NLL on a common basis, controls moved per event, values on the
    data's grid, KS, MIDI messages per event, pad histograms, training and step time."""
    from foretell.bench.fidelity_report import table_lines, write_report

    names = [n.strip() for n in variant_names.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise click.UsageError(
            f"--variants takes {', '.join(VARIANTS)}; not {', '.join(unknown) or 'none'}"
        )
    result = run_fidelity(
        parse_names(instruments), parse_seeds(seeds), size, scale, epochs, plays, names
    )
    if out is not None:
        write_report(result, out)
    if as_json:
        click.echo(json.dumps(result))
        return
    for line in table_lines(result):
        click.echo(line)
    for note in result["notes"]:
        click.echo(f"note: {note}")
    if out is not None:
        click.echo(f"wrote fidelity.md, fidelity.json and figures to {out}")
