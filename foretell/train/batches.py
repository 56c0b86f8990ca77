"""Train/validation splits and the windows an epoch is made of (NumPy only).

**Split.** With at least ``MIN_PERFORMANCES_TO_SPLIT`` performances, whole performances go to
validation (chosen by the seeded generator until about ``val_split`` of the events). Otherwise the
tail ``val_split`` of every performance is validation and the head is training: contiguous time
ranges, never overlapping windows, so no event is in both.

**Epoch.** Every training event is a target exactly once per epoch: each performance is cut into
non-overlapping windows of ``seq_len`` steps starting at a random offset (new every epoch), the
first and last windows shorter and padded with a mask. Window ``[s, e)`` feeds events ``s..e-1``
and scores events ``s+1..e``. This module knows nothing about torch or models.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError, DatasetError
from foretell.model.fileformat import ModelSpec
from foretell.model.transform import DataTransform

MIN_PERFORMANCES_TO_SPLIT = 10
MIN_SEGMENT = 8  # events: the shortest validation (and training) segment worth keeping


@dataclass(frozen=True)
class Split:
    """Training and validation segments (data space, float32 ``(n, D)`` each)."""

    train: tuple[np.ndarray, ...]
    val: tuple[np.ndarray, ...]
    by: Literal["performance", "time"]

    @property
    def train_events(self) -> int:
        return int(sum(len(p) for p in self.train))

    @property
    def val_events(self) -> int:
        return int(sum(len(p) for p in self.val))


def split_dataset(dataset: Dataset, val_split: float, rng: np.random.Generator) -> Split:
    """Split by performance when there are enough of them, else by the tail of each in time."""
    if not 0.0 < val_split < 0.5:
        raise ConfigError(f"--val-split must be between 0 and 0.5 (got {val_split})")
    perfs = [p for p in dataset.performances if len(p) >= 2]
    if sum(len(p) for p in perfs) < 10 * MIN_SEGMENT:
        raise DatasetError(
            f"{dataset.name} has only {dataset.events} events; training needs at least "
            f"{10 * MIN_SEGMENT}"
        )
    if len(perfs) >= MIN_PERFORMANCES_TO_SPLIT:
        return _split_by_performance(perfs, val_split, rng)
    return _split_by_time(perfs, val_split)


def _split_by_performance(
    perfs: list[np.ndarray], val_split: float, rng: np.random.Generator
) -> Split:
    total = sum(len(p) for p in perfs)
    target = val_split * total
    chosen: list[int] = []
    taken = 0
    for index in rng.permutation(len(perfs)):
        if taken >= target:
            break
        if taken + len(perfs[index]) <= 1.5 * target:  # skip one that would overshoot a lot
            chosen.append(int(index))
            taken += len(perfs[index])
    if not chosen:  # every performance is huge: fall back to time ranges
        return _split_by_time(perfs, val_split)
    train = tuple(p for i, p in enumerate(perfs) if i not in chosen)
    return Split(train, tuple(perfs[i] for i in sorted(chosen)), "performance")


def _split_by_time(perfs: list[np.ndarray], val_split: float) -> Split:
    train, val = [], []
    for perf in perfs:
        cut = len(perf) - round(val_split * len(perf))
        if len(perf) - cut >= MIN_SEGMENT and cut >= MIN_SEGMENT:
            train.append(perf[:cut])
            val.append(perf[cut:])
        else:
            train.append(perf)
    if not val:
        raise DatasetError("no performance is long enough to hold out a validation range")
    return Split(tuple(train), tuple(val), "time")


# -- network-space arrays and windows -------------------------------------------------------


@dataclass(frozen=True)
class Segments:
    """Segments concatenated in the network space, with each event's ``log|dz/dx|``."""

    z: np.ndarray  # (N, D) float32: the network's inputs
    jacobian: np.ndarray  # (N,) float32
    starts: np.ndarray  # (S,) index of each segment's first event in z
    lengths: np.ndarray  # (S,)
    y: np.ndarray | None = None  # (N, W) float32 targets, where they are not the inputs

    @classmethod
    def build(
        cls,
        segments: Sequence[np.ndarray],
        transform: DataTransform,
        spec: ModelSpec | None = None,
    ) -> Segments:
        """The segments' inputs, targets and Jacobians for a dense model, or for the moves
        model ``spec`` (``foretell.model.moves``: inputs with moved flags, target rows)."""
        lengths = np.array([len(s) for s in segments])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        if spec is not None and spec.layout is not None:
            from foretell.model import moves

            return cls(
                z=np.concatenate([moves.encode_inputs(spec, s) for s in segments]),
                jacobian=np.concatenate([moves.jacobian(spec, s) for s in segments]).astype(
                    np.float32
                ),
                starts=starts,
                lengths=lengths,
                y=np.concatenate([moves.encode_targets(spec, s) for s in segments]),
            )
        events = np.concatenate(segments)
        return cls(
            z=transform.to_net(events),
            jacobian=transform.log_abs_det_jacobian(events).astype(np.float32),
            starts=starts,
            lengths=lengths,
        )

    @property
    def targets(self) -> int:
        """How many events are scored (all but the first of each segment)."""
        return int((self.lengths - 1).sum())


@dataclass(frozen=True)
class Batch:
    """Padded windows: inputs ``x (B, T, D)``, targets ``y (B, T, D)``, Jacobians and a mask."""

    x: np.ndarray
    y: np.ndarray
    jacobian: np.ndarray  # (B, T)
    mask: np.ndarray  # (B, T) float32, 1 where y is a real event


def _window_bounds(
    lengths: np.ndarray, seq_len: int, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(segment, start, stop) of every window; stop is the last input + 1 (targets to ``stop``)."""
    segment, start, stop = [], [], []
    for index, n in enumerate(lengths):
        offset = int(rng.integers(seq_len)) if rng is not None else 0
        cuts = np.arange(offset, n - 1, seq_len) if offset < n - 1 else np.empty(0, int)
        edges = np.unique(np.concatenate([[0], cuts, [n - 1]]))
        segment += [index] * (len(edges) - 1)
        start += list(edges[:-1])
        stop += list(edges[1:])
    return np.array(segment), np.array(start), np.array(stop)


def gather(segments: Segments, seg: np.ndarray, start: np.ndarray, stop: np.ndarray) -> Batch:
    """Pad and gather windows ``[start, stop)`` of the given segments into one ``Batch``."""
    width = int((stop - start).max())
    steps = np.arange(width)
    mask = steps[None, :] < (stop - start)[:, None]  # (B, T)
    first = segments.starts[seg] + start  # (B,)
    index = np.where(mask, first[:, None] + steps[None, :], first[:, None])  # (B, T)
    return Batch(
        x=segments.z[index],
        y=(segments.z if segments.y is None else segments.y)[index + 1],
        jacobian=segments.jacobian[index + 1],
        mask=mask.astype(np.float32),
    )


def epoch_batches(
    segments: Segments,
    seq_len: int,
    batch_size: int,
    rng: np.random.Generator,
    max_events: int | None = None,
) -> Iterator[Batch]:
    """One epoch: every event a target once, in shuffled batches of windows (random offsets).

    With ``max_events``, only the first shuffled windows holding about that many targets are
    used (a random subsample of the epoch, different every epoch).
    """
    seg, start, stop = _window_bounds(segments.lengths, seq_len, rng)
    order = rng.permutation(len(seg))
    if max_events is not None:
        targets = np.cumsum((stop - start)[order])
        order = order[: max(1, int(np.searchsorted(targets, max_events, side="right")))]
    for first in range(0, len(order), batch_size):
        chosen = order[first : first + batch_size]
        yield gather(segments, seg[chosen], start[chosen], stop[chosen])


def whole_segments(segments: Segments) -> Batch:
    """Every segment as one window from its first event (validation from a fresh state)."""
    count = len(segments.lengths)
    return gather(segments, np.arange(count), np.zeros(count, int), segments.lengths - 1)


# -- a test set that training never sees ----------------------------------------------------------


TEST_FRACTION, TEST_SEED = 0.1, 2026  # fixed across runs and seeds, so their scores compare


@dataclass(frozen=True)
class TestSplit:
    """What training may use (it splits that into train and validation) and the test set."""

    trainable: Dataset
    test: tuple[np.ndarray, ...]
    by: Literal["performance", "time"]


def split_test(
    dataset: Dataset, fraction: float = TEST_FRACTION, seed: int = TEST_SEED
) -> TestSplit:
    """Hold out a test set the same way validation is held out (whole performances when there
    are enough, else the tail of each), with its own fixed seed; reported only, never selected on.
    """
    split = split_dataset(dataset, fraction, np.random.default_rng(seed))
    return TestSplit(Dataset(split.train, dataset.dimension, dataset.name), split.val, split.by)
