"""Splits never leak, and an epoch shows every training event exactly once as a target."""

from __future__ import annotations

import numpy as np
import pytest

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError, DatasetError
from foretell.model.transform import DataTransform
from foretell.train.batches import Segments, epoch_batches, split_dataset, whole_segments
from tests.fixtures import bundled_performances


def _dataset(performances: list[np.ndarray]) -> Dataset:
    return Dataset(tuple(performances), performances[0].shape[1], "test")


def test_few_performances_are_split_by_their_tail_in_time() -> None:
    perfs = bundled_performances(limit=1000)
    split = split_dataset(_dataset(perfs), 0.1, np.random.default_rng(0))
    assert split.by == "time"
    assert len(split.train) == len(split.val) == len(perfs)
    for perf, head, tail in zip(perfs, split.train, split.val, strict=True):
        assert len(tail) == round(0.1 * len(perf))
        np.testing.assert_array_equal(np.concatenate([head, tail]), perf)


def test_many_performances_are_split_whole() -> None:
    perfs = [chunk for p in bundled_performances(limit=1200) for chunk in np.array_split(p, 4)]
    split = split_dataset(_dataset(perfs), 0.2, np.random.default_rng(1))
    assert split.by == "performance"
    train_ids = {id(p) for p in split.train}
    assert all(id(p) not in train_ids for p in split.val)
    assert {id(p) for p in perfs} == train_ids | {id(p) for p in split.val}
    assert 0.1 <= split.val_events / (split.val_events + split.train_events) <= 0.3


def test_bad_split_options_and_tiny_data_are_refused() -> None:
    perfs = bundled_performances(limit=1000)
    with pytest.raises(ConfigError, match="val-split"):
        split_dataset(_dataset(perfs), 0.7, np.random.default_rng(0))
    with pytest.raises(DatasetError, match="at least"):
        split_dataset(_dataset([p[:5] for p in perfs]), 0.1, np.random.default_rng(0))


def _segments() -> tuple[Segments, list[np.ndarray]]:
    perfs = [p[:n] for p, n in zip(bundled_performances(limit=400), (400, 123, 51, 7), strict=True)]
    transform = DataTransform.fit(np.concatenate(perfs))
    return Segments.build(perfs, transform), perfs


def _sorted_rows(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])]


def test_an_epoch_scores_every_event_once() -> None:
    segments, perfs = _segments()
    rng = np.random.default_rng(0)
    batches = list(epoch_batches(segments, seq_len=50, batch_size=4, rng=rng))
    targets = np.concatenate([b.y[b.mask > 0] for b in batches])
    jacobians = np.concatenate([b.jacobian[b.mask > 0] for b in batches])
    expected = np.concatenate(
        [segments.z[s + 1 : s + n] for s, n in zip(segments.starts, segments.lengths, strict=True)]
    )
    assert len(targets) == segments.targets == sum(len(p) - 1 for p in perfs)
    np.testing.assert_array_equal(_sorted_rows(targets), _sorted_rows(expected))
    assert np.isclose(
        jacobians.sum(),
        np.concatenate(
            [
                segments.jacobian[s + 1 : s + n]
                for s, n in zip(segments.starts, segments.lengths, strict=True)
            ]
        ).sum(),
    )
    for batch in batches:  # each input is the event just before its target
        assert batch.x.shape == batch.y.shape and batch.x.shape[1] <= 50
        np.testing.assert_array_equal(
            batch.x[:, 1:][batch.mask[:, 1:] > 0], batch.y[:, :-1][batch.mask[:, 1:] > 0]
        )


def test_windows_move_between_epochs() -> None:
    segments, _ = _segments()
    rng = np.random.default_rng(0)
    first = next(epoch_batches(segments, 50, 1000, rng))
    second = next(epoch_batches(segments, 50, 1000, rng))
    assert first.x.shape != second.x.shape or not np.array_equal(first.x, second.x)


def test_whole_segments_start_at_each_segment() -> None:
    segments, perfs = _segments()
    batch = whole_segments(segments)
    assert batch.x.shape == (len(perfs), max(len(p) for p in perfs) - 1, 4)
    assert batch.mask.sum() == segments.targets
    np.testing.assert_array_equal(batch.x[:, 0], segments.z[segments.starts])


def test_a_capped_epoch_is_a_new_random_part_of_the_data() -> None:
    segments, _ = _segments()
    rng = np.random.default_rng(0)
    cap = segments.targets // 4

    def targets_of(batches: list) -> np.ndarray:
        return _sorted_rows(np.concatenate([b.y[b.mask > 0] for b in batches]))

    first = list(epoch_batches(segments, 25, 4, rng, max_events=cap))
    second = list(epoch_batches(segments, 25, 4, rng, max_events=cap))
    for batches in (first, second):
        scored = int(sum(b.mask.sum() for b in batches))
        assert cap - 25 < scored <= cap  # whole windows, up to the cap
    assert not np.array_equal(targets_of(first), targets_of(second))
    uncapped = list(epoch_batches(segments, 25, 4, rng, max_events=10 * segments.targets))
    assert int(sum(b.mask.sum() for b in uncapped)) == segments.targets


def test_the_test_split_is_fixed_and_apart_from_what_training_gets() -> None:
    from foretell.train.batches import split_test

    perfs = [np.asarray(p, np.float32) for p in bundled_performances(600)]
    many = Dataset(tuple(p[i : i + 60] for p in perfs for i in range(0, 600, 60)), 4, "many")
    first, again = split_test(many), split_test(many)
    assert first.by == "performance" and len(first.test) >= 1
    assert [t.tobytes() for t in first.test] == [t.tobytes() for t in again.test]
    held = {t.tobytes() for t in first.test}
    assert not held & {p.tobytes() for p in first.trainable.performances}
    assert first.trainable.events + sum(map(len, first.test)) == many.events
