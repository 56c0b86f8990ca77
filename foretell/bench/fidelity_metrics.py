"""How a model's playing differs from a player's, in numbers any model kind can be held to.

Every function takes events as arrays ``(n, 1+N)`` (column 0 dt in seconds, then N controls in
[0, 1]), generated or human, and knows nothing of the model that made them (NumPy only):

- **Value lattices.** What values a control takes in the data (``value_lattice``): a small *set*
  (at most ``SET_MAX`` distinct values: pads, notes, switches), an ordered *grid* ``k / M`` (the
  data's values all within ``GRID_TOLERANCE`` steps of a multiple of ``1/M``, with ``M`` from the
  smallest gap between distinct values, at most 16384: 7-bit MIDI's 1/127, the LightPad's 1/128,
  a serial 0..1023), or *continuous*. ``on_lattice`` says which generated values land on it.
- **Moves.** A control moves when its value differs from the previous row's (every control moves
  in a segment's first row, measured against ``previous``: the event the segment follows).
  ``moved_distribution`` is the share of events moving 0..N controls; ``total_variation``
  compares two such distributions (``0.5 * sum |p - q|``: 0 equal, 1 disjoint).
- **MIDI messages per event**: what an encoder that sends only changed values sends, i.e. how many
  controls' 7-bit values (``round(127 v)``) changed.
- **Set histograms**: the share of events on each value of a set control (a generated value
  counted at the nearest set value), compared by total variation (the pad histogram).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from foretell.bench.quality import ks_statistic
from foretell.events import MOVE_TOLERANCE

SET_MAX = 16  # a control with at most this many distinct values is a set
GRID_MAX = 16_384  # the finest grid looked for (14 bits)
GRID_TOLERANCE = 1e-3  # in grid steps: float32 data and 6-digit CSVs sit well inside it
MIDI_STEPS = 127

LatticeKind = Literal["set", "grid", "continuous"]


@dataclass(frozen=True)
class Lattice:
    """The values a control takes: a set (``values``), a grid ``k / steps`` or continuous."""

    kind: LatticeKind
    values: tuple[float, ...] = ()
    steps: int = 0

    def describe(self) -> str:
        if self.kind == "set":
            return f"set of {len(self.values)}"
        if self.kind == "grid":
            return f"grid 1/{self.steps}"
        return "continuous"


def value_lattice(column: np.ndarray) -> Lattice:
    """The lattice of one control's data values (see the module docstring)."""
    values = np.unique(np.asarray(column, dtype=np.float64))
    if len(values) <= SET_MAX:
        return Lattice("set", tuple(float(v) for v in values))
    smallest_gap = float(np.min(np.diff(values)))
    steps = round(1.0 / smallest_gap)
    if not 2 <= steps <= GRID_MAX:
        return Lattice("continuous")
    offset = values * steps - np.round(values * steps)
    if np.max(np.abs(offset)) > GRID_TOLERANCE:
        return Lattice("continuous")
    return Lattice("grid", steps=steps)


def lattices(events: np.ndarray) -> list[Lattice]:
    """One lattice per control of ``events (n, 1+N)``."""
    return [value_lattice(events[:, j]) for j in range(1, events.shape[1])]


def set_tolerance(values: Sequence[float]) -> float:
    gaps = np.diff(np.asarray(values, dtype=np.float64))
    return GRID_TOLERANCE * (float(gaps.min()) if gaps.size else 1.0)


def nearest_in_set(column: np.ndarray, values: Sequence[float]) -> np.ndarray:
    """Index of the nearest set value for each entry of ``column``."""
    table = np.asarray(values, dtype=np.float64)
    return np.argmin(np.abs(np.asarray(column, np.float64)[:, None] - table[None, :]), axis=1)


def on_lattice(column: np.ndarray, lattice: Lattice) -> np.ndarray | None:
    """Which entries of ``column`` lie on ``lattice`` (``None`` for a continuous one)."""
    column = np.asarray(column, dtype=np.float64)
    if lattice.kind == "grid":
        scaled = column * lattice.steps
        return np.abs(scaled - np.round(scaled)) <= GRID_TOLERANCE
    if lattice.kind == "set":
        table = np.asarray(lattice.values)
        nearest = table[nearest_in_set(column, lattice.values)]
        return np.abs(column - nearest) <= set_tolerance(lattice.values)
    return None


def share_on_lattice(events: np.ndarray, controls: Sequence[Lattice]) -> dict[str, float | None]:
    """Per control (``x1``..) the share of values on its lattice, and ``all``: the share over
    every value of every set or grid control (``None`` where no control has one)."""
    out: dict[str, float | None] = {}
    hits = total = 0
    for j, lattice in enumerate(controls, start=1):
        inside = on_lattice(events[:, j], lattice)
        if inside is None:
            out[f"x{j}"] = None
            continue
        out[f"x{j}"] = float(inside.mean()) if inside.size else None
        hits, total = hits + int(inside.sum()), total + int(inside.size)
    out["all"] = hits / total if total else None
    return out


def moved(events: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """``(n, N)`` booleans: which controls of each row differ from the row before by more than
    the engine's ``MOVE_TOLERANCE`` (what it sends as moved), the first row against
    ``previous``; every control moves in it when there is none."""
    controls = np.asarray(events, dtype=np.float64)[:, 1:]
    before = np.empty_like(controls)
    before[1:] = controls[:-1]
    if previous is None:
        before[0] = np.nan  # nan differs from everything
    else:
        before[0] = np.asarray(previous, dtype=np.float64)[1:]
    return ~(np.abs(controls - before) <= MOVE_TOLERANCE)  # nan: moved


def moved_count_series(
    segments: Sequence[np.ndarray], previous: Sequence[np.ndarray | None]
) -> list[np.ndarray]:
    """How many controls move in each event, segment by segment."""
    return [moved(s, p).sum(axis=1) for s, p in zip(segments, previous, strict=True)]


def moved_counts(
    segments: Sequence[np.ndarray], previous: Sequence[np.ndarray | None]
) -> np.ndarray:
    """How many controls move in each event of each segment, all segments together."""
    counts = moved_count_series(segments, previous)
    return np.concatenate(counts) if counts else np.zeros(0, dtype=int)


def count_distribution(counts: np.ndarray, controls: int) -> np.ndarray:
    """The share of events with 0..``controls`` moves, shape ``(controls + 1,)``."""
    histogram = np.bincount(np.asarray(counts, dtype=int), minlength=controls + 1)
    return histogram / max(int(histogram.sum()), 1)


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """``0.5 * sum |p - q|`` between two distributions on the same outcomes."""
    return 0.5 * float(np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def sampling_tv(
    reference: np.ndarray, sizes: tuple[float, float], draws: int = 2000, seed: int = 0
) -> float:
    """The mean total variation between two samples of ``sizes`` independent events (rounded;
    ``effective_events`` for playing in phrases) drawn from ``reference``: what a model playing
    exactly like it would score against held-out playing of that size (the measure's floor:
    sampling noise alone)."""
    rng = np.random.default_rng(seed)
    q = np.asarray(reference, dtype=np.float64)
    q = q / q.sum()
    first, second = (max(round(size), 1) for size in sizes)
    one = rng.multinomial(first, q, size=draws) / first
    other = rng.multinomial(second, q, size=draws) / second
    return 0.5 * float(np.abs(one - other).sum(axis=1).mean())


AUTOCORRELATION_WINDOW = 5  # Sokal's window: sum lags up to this many autocorrelation times


def autocorrelation_time(segments: Sequence[np.ndarray]) -> float:
    """The integrated autocorrelation time ``1 + 2 sum_k rho_k`` of a series cut into segments:
    ``rho_k`` the lag-k products of pairs within one segment (a lag never crosses a segment's
    end) over ``n`` times the variance (mean and variance over all segments), summed up to the
    first lag ``k >= 5 tau`` (Sokal's window); 1 for independent values and for a constant."""
    values = [np.asarray(s, dtype=np.float64) for s in segments if len(s)]
    if not values:
        return 1.0
    series = np.concatenate(values)
    centred = series - series.mean()
    variance = float(np.mean(centred**2))
    if variance <= 0.0:
        return 1.0
    owner = np.repeat(np.arange(len(values)), [len(v) for v in values])
    tau, lag = 1.0, 1
    while lag < len(series) and lag < AUTOCORRELATION_WINDOW * tau:
        same = owner[lag:] == owner[:-lag]
        if not same.any():
            break
        products = centred[lag:][same] * centred[:-lag][same]
        tau += 2.0 * float(products.sum()) / (len(series) * variance)
        lag += 1
    return max(tau, 1.0)


def effective_events(labels: Sequence[np.ndarray], outcomes: int) -> float:
    """How many independent events ``labels`` (outcome indices per event, in segments) are worth
    for a histogram over ``outcomes``: the events over the autocorrelation time of each
    outcome's indicator, averaged with the weights ``p (1 - p)`` (each share's variance)."""
    segments = [np.asarray(s, dtype=np.int64) for s in labels]
    events = sum(len(s) for s in segments)
    if events == 0:
        return 0.0
    shares = np.bincount(np.concatenate(segments), minlength=outcomes) / events
    weights = shares * (1.0 - shares)
    if weights.sum() <= 0.0:
        return float(events)
    taus = [
        autocorrelation_time([s == outcome for s in segments]) if weights[outcome] > 0 else 1.0
        for outcome in range(outcomes)
    ]
    return events / float(np.dot(weights, taus) / weights.sum())


def midi_values(events: np.ndarray) -> np.ndarray:
    """Controls as the 7-bit values a MIDI encoder sends: ``round(127 v)``, shape ``(n, N)``."""
    return np.round(np.asarray(events, dtype=np.float64)[:, 1:] * MIDI_STEPS).astype(int)


def midi_messages(
    segments: Sequence[np.ndarray], previous: Sequence[np.ndarray | None]
) -> np.ndarray:
    """Per event, the messages an encoder sending only changed 7-bit values sends (every
    control in a segment's first event when there is no ``previous`` event)."""
    counts = []
    for segment, before in zip(segments, previous, strict=True):
        values = midi_values(segment)
        last = np.full(values.shape[1], -1) if before is None else midi_values(before[None, :])[0]
        counts.append((values != np.vstack([last, values[:-1]])).sum(axis=1))
    return np.concatenate(counts) if counts else np.zeros(0, dtype=int)


def set_histogram(column: np.ndarray, lattice: Lattice) -> np.ndarray:
    """The share of entries at each value of a set (each counted at its nearest value)."""
    index = nearest_in_set(column, lattice.values)
    histogram = np.bincount(index, minlength=len(lattice.values))
    return histogram / max(int(histogram.sum()), 1)


def ks_columns(generated: np.ndarray, human: np.ndarray) -> dict[str, float]:
    """Two-sample KS statistic per column (``dt``, ``x1``..``xN``): ``max |F_g - F_h|``."""
    names = ["dt", *(f"x{j}" for j in range(1, generated.shape[1]))]
    return {name: ks_statistic(generated[:, i], human[:, i]) for i, name in enumerate(names)}
