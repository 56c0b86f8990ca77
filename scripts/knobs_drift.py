"""What drifts when a moves model plays the knobs on its own: the knobs' moves, turn by turn.

    .venv/bin/python scripts/knobs_drift.py --seed 0 --scale 1 --plays 5 \
        --train absolute= --train relative=--grid-centres,relative --json

The knobs instrument (``foretell.bench.instruments.knobs``) is drawn and its test set held out
as ``foretell bench fidelity`` does; each ``--train NAME=OPTIONS`` trains a model on the rest
with ``foretell train`` (the bench's size and seed; OPTIONS comma-separated) and each
``--model NAME=PATH`` takes a saved one. Each model plays every held-out performance freely
from its first event, ``--plays`` times (the bench's generators), and its playing is described
beside the human's (``describe``):

- ``none``, ``one``, ``several``: the shares of events moving no knob, one, more than one (a
  knob moves when its value changes by more than ``MOVE_TOLERANCE``, as the bench counts);
- ``pause_none``, ``short_none``: the share of events moving no knob with dt above
  ``PAUSE_DT`` (a turn's pause) and below it (a slow turn repeating its 7-bit value);
- ``step_1``, ``step_2``, ``step_3``, ``step_wide``: the shares of moves of 1, 2, 3 and more
  cells;
- ``turn_moves``: the mean number of moves in a turn (a turn: the moves of one knob until
  another moves), ``turn_events``: the mean events from a turn's first move to the next turn's;
- ``reversals``: the share of a turn's later moves that go against its previous move;
- ``hazard``: the chance that an event moves a knob given ``k`` events since the last move
  (k = 1..4), and ``rate_by_turn_age``: the share of events moving the turning knob by how many
  events the turn has lasted (1-4, 5-9, 10-19, 20-39, 40+).

This measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from foretell.bench.fidelity import generate_beside, instrument_data
from foretell.bench.train import timed_train
from foretell.data.dataset import save_dataset
from foretell.events import MOVE_TOLERANCE
from foretell.train.batches import split_test

PAUSE_DT = 0.3  # seconds: a knob event after a longer wait starts a turn
AGES = ((1, 4), (5, 9), (10, 19), (20, 39), (40, 10**9))


def segment_moves(segment: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, N)`` booleans, which knobs moved in each event, and ``(n, N)`` cells moved."""
    rows = np.vstack([first[None], segment])
    change = np.diff(rows[:, 1:], axis=0)
    return np.abs(change) > MOVE_TOLERANCE, np.rint(change * 127).astype(int)


def describe(segments: Sequence[np.ndarray], firsts: Sequence[np.ndarray]) -> dict[str, Any]:
    """The figures of the module docstring over segments (each after its ``firsts`` row)."""
    counts, dts, steps = [], [], []
    turn_moves, turn_events = [], []
    reversals, continuations = 0, 0
    since_hits = np.zeros(5)
    since_all = np.zeros(5)
    age_hits = np.zeros(len(AGES))
    age_all = np.zeros(len(AGES))
    for segment, first in zip(segments, firsts, strict=True):
        moved, cells = segment_moves(segment, first)
        counts.append(moved.sum(1))
        dts.append(segment[:, 0])
        steps.append(np.abs(cells[moved]))
        knob, since, age, moves, events, direction = -1, 0, 0, 0, 0, 0
        for row in range(len(segment)):
            which = np.flatnonzero(moved[row])
            since += 1
            if knob >= 0:
                age += 1
                events += 1
                slot = next(i for i, (lo, hi) in enumerate(AGES) if lo <= age <= hi)
                age_all[slot] += 1
                age_hits[slot] += knob in which
            if since <= 4:
                since_all[since] += 1
                since_hits[since] += len(which) > 0
            if len(which) == 0:
                continue
            since = 0
            if len(which) == 1 and which[0] == knob:
                moves += 1
                sign = int(np.sign(cells[row, knob]))
                continuations += 1
                reversals += sign == -direction
                direction = sign
                continue
            if knob >= 0:
                turn_moves.append(moves)
                turn_events.append(events)
            knob, age, moves, events = (int(which[0]) if len(which) == 1 else -1), 0, 1, 0
            direction = int(np.sign(cells[row, knob])) if knob >= 0 else 0
    count = np.concatenate(counts)
    dt = np.concatenate(dts)
    step = np.concatenate(steps)
    none = count == 0
    return {
        "events": len(count),
        "none": _share(none),
        "one": _share(count == 1),
        "several": _share(count > 1),
        "pause_none": _share(none & (dt > PAUSE_DT)),
        "short_none": _share(none & (dt <= PAUSE_DT)),
        "step_1": _share(step == 1),
        "step_2": _share(step == 2),
        "step_3": _share(step == 3),
        "step_wide": _share(step > 3),
        "turn_moves": round(float(np.mean(turn_moves)), 2) if turn_moves else None,
        "turn_events": round(float(np.mean(turn_events)), 2) if turn_events else None,
        "reversals": round(reversals / continuations, 4) if continuations else None,
        "hazard": _rates(since_hits[1:], since_all[1:]),
        "rate_by_turn_age": _rates(age_hits, age_all),
    }


def _rates(hits: np.ndarray, totals: np.ndarray) -> list[float | None]:
    return [round(float(h / a), 3) if a else None for h, a in zip(hits, totals, strict=True)]


def _share(flags: np.ndarray) -> float:
    return round(float(np.mean(flags)), 4) if flags.size else 0.0


def parse_pairs(items: Sequence[str]) -> list[tuple[str, str]]:
    return [tuple(item.split("=", 1)) for item in items]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--plays", type=int, default=5)
    parser.add_argument("--size", default="s")
    parser.add_argument("--train", action="append", default=[], help="NAME=OPTION,OPTION")
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH")
    parser.add_argument("--keep", type=Path, help="save the trained models in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    dataset = instrument_data("knobs", args.seed, args.scale)
    split = split_test(dataset)
    held_out = [segment for segment in split.test if len(segment) > 1]
    firsts = [segment[0] for segment in held_out]
    report: dict[str, Any] = {
        "seed": args.seed,
        "scale": args.scale,
        "human": describe([s[1:] for s in held_out], firsts),
    }
    with tempfile.TemporaryDirectory(prefix="knobs-drift-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        models = [(name, Path(path)) for name, path in parse_pairs(args.model)]
        if args.train:
            data = Path(tmp) / "knobs.npz"
            save_dataset(data, list(split.trainable.performances))
            for name, options in parse_pairs(args.train):
                out = folder / f"knobs-{name}-{args.seed}.ftm"
                extra = [o for o in options.split(",") if o]
                timed_train(data, out, args.size, args.seed, *extra, dense=False)
                models.append((name, out))
        for name, path in models:
            played, _ = generate_beside(path, held_out, args.seed, args.plays)
            segments = [seg for play in played for seg in play]
            report[name] = describe(segments, firsts * len(played))
    if args.json:
        print(json.dumps(report))
        return
    names = [key for key in report if isinstance(report[key], dict)]
    for field in report["human"]:
        print(f"{field:18}", "  ".join(f"{name}={report[name][field]}" for name in names))


if __name__ == "__main__":
    main()
