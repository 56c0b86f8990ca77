"""train() on small real data: validation NLL falls, equals `trace`, runs are reproducible."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError
from foretell.model.protocol import build_model
from foretell.model.trace import trace_performance
from foretell.train.batches import split_dataset
from tests.fixtures import bundled_performances

pytest.importorskip("torch")
from foretell.model.fileformat import DEFAULT_SIGMA_MIN
from foretell.train.config import (
    TrainConfig,
    batch_size_for,
    epochs_for,
    initial_learning_rate,
    scheduled_rate,
    warmup_epochs_for,
)
from foretell.train.loop import EpochRecord, TrainResult, train
from foretell.train.resolution import sigma_floor

SMALL = TrainConfig(layers=1, units=16, mixtures=3, seq_len=25, batch_size=8, epochs=6, patience=6)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(tuple(bundled_performances(limit=600)), 4, "lightpad-small")


@pytest.fixture(scope="module")
def result(dataset: Dataset) -> TrainResult:
    return train(dataset, SMALL)


def test_training_reduces_validation_nll(dataset: Dataset, result: TrainResult) -> None:
    first, best = result.history[0].val_nll, result.best_val_nll
    assert result.epochs_run == 6
    assert best < first - 0.5
    assert best == min(r.val_nll for r in result.history)
    assert result.history[result.best_epoch - 1].val_nll == best
    info = result.model.info
    assert info["data_fingerprint"] == dataset.fingerprint()
    assert info["best_val_nll"] == best and info["split_by"] == "time"


def test_validation_nll_is_what_trace_reports(dataset: Dataset, result: TrainResult) -> None:
    split = split_dataset(dataset, SMALL.val_split, np.random.default_rng(SMALL.seed))
    runtime = build_model(result.model).voice()  # the default's moves model: its own kind
    nll = np.concatenate([trace_performance(runtime, segment)[1] for segment in split.val])
    assert nll.mean() == pytest.approx(result.best_val_nll, abs=2e-4)


def test_same_seed_same_model(dataset: Dataset) -> None:
    """Bit for bit at a fixed thread count (the free-CPU policy may pick another next time)."""
    config = TrainConfig(layers=1, units=8, mixtures=2, epochs=2, batch_size=8, seed=7, threads=1)
    first, second = train(dataset, config), train(dataset, config)
    assert first.best_val_nll == second.best_val_nll
    for name, value in first.model.weights.items():
        np.testing.assert_array_equal(value, second.model.weights[name])


def test_ctrl_c_keeps_the_best_model_so_far(dataset: Dataset) -> None:
    def interrupt(record: EpochRecord, improved: bool) -> None:
        if record.epoch == 2:
            raise KeyboardInterrupt

    stopped = train(dataset, SMALL, on_epoch=interrupt)
    assert stopped.stopped == "interrupted"
    assert stopped.epochs_run == 2
    assert stopped.best_val_nll == min(r.val_nll for r in stopped.history)


def test_bad_options_are_config_errors(dataset: Dataset) -> None:
    with pytest.raises(ConfigError, match="batch-size"):
        train(dataset, TrainConfig(batch_size=0))
    with pytest.raises(ConfigError, match="sigma-min"):
        train(dataset, TrainConfig(sigma_min=0.0))


def test_sigma_min_comes_from_the_data_unless_given(dataset: Dataset, result: TrainResult) -> None:
    """The dense model's narrowest spread is a step of the controls; a moves model scores its
    grid controls by cell, so only dt and continuous controls set it (none here)."""
    from foretell.model.transform import DataTransform

    split = split_dataset(dataset, SMALL.val_split, np.random.default_rng(SMALL.seed))
    train_events = np.concatenate(split.train)
    floor = sigma_floor(train_events, DataTransform.fit(train_events))
    assert floor > DEFAULT_SIGMA_MIN  # LightPad positions are 1/128 apart
    dense = train(dataset, replace(SMALL, epochs=1, kinds="dense"))
    assert dense.model.spec.sigma_min == pytest.approx(floor)
    assert dense.model.info["sigma_min"] == pytest.approx(floor)
    assert result.model.spec.controls is not None  # the default: LightPad's grids
    assert result.model.spec.sigma_min == DEFAULT_SIGMA_MIN
    given = train(dataset, replace(SMALL, epochs=1, sigma_min=2e-3))
    assert given.model.spec.sigma_min == 2e-3


def test_learning_rate_scales_with_width_and_batch() -> None:
    assert initial_learning_rate(TrainConfig(units=16, batch_size=8)) == 2e-2
    assert initial_learning_rate(TrainConfig(units=128, batch_size=8)) == 2e-2
    assert initial_learning_rate(TrainConfig(units=256, batch_size=8)) == pytest.approx(1e-2)
    assert initial_learning_rate(TrainConfig(units=512, batch_size=8)) == pytest.approx(5e-3)
    assert initial_learning_rate(TrainConfig(units=64, batch_size=32)) == pytest.approx(4e-2)
    assert initial_learning_rate(TrainConfig(units=256, batch_size=32)) == pytest.approx(2e-2)
    assert initial_learning_rate(TrainConfig(units=512, learning_rate=0.02)) == 0.02


def test_small_sets_get_smaller_batches_so_an_epoch_takes_twelve_steps() -> None:
    default = TrainConfig()
    assert batch_size_for(default, 88_000) == 32  # LightPad 100k's training part
    assert batch_size_for(default, 10_200) == 32  # 12k's: 408 windows, 12 steps of 32
    assert batch_size_for(default, 7_300) == 24  # 292 windows
    assert batch_size_for(default, 2_400) == 8  # 96 windows: 12 steps of 8
    assert batch_size_for(default, 300) == 8  # never below 8
    assert batch_size_for(replace(default, seq_len=50), 10_200) == 17
    assert batch_size_for(replace(default, epoch_events=5_000), 88_000) == 16  # an epoch's part
    assert batch_size_for(replace(default, batch_size=4), 88_000) == 4  # the user's choice
    assert batch_size_for(replace(default, batch_size=64), 300) == 64


def test_big_sets_get_fifty_epochs_and_the_user_s_count_wins() -> None:
    default = TrainConfig()
    assert epochs_for(default, 12_074) == 40  # LightPad 12k
    assert epochs_for(default, 39_999) == 40
    assert epochs_for(default, 40_000) == 50
    assert epochs_for(default, 103_250) == 50  # LightPad 100k
    assert epochs_for(replace(default, epochs=7), 103_250) == 7
    with pytest.raises(ValueError, match="settle"):
        scheduled_rate(default, 1e-2, 0.0)  # the schedule's length is not known yet


def test_a_run_without_an_epoch_count_runs_the_default_and_records_it(dataset: Dataset) -> None:
    run = train(dataset, replace(SMALL, units=8, epochs=None, patience=100))
    assert run.epochs_run == 40 and run.stopped == "epochs"
    assert run.model.info["config"]["epochs"] == 40


def test_training_records_the_batch_size_it_chose(dataset: Dataset) -> None:
    run = train(dataset, replace(SMALL, batch_size=None, epochs=1))
    assert run.model.info["config"]["batch_size"] == 8  # 2k events: the smallest batch
    assert run.model.info["learning_rate"] == pytest.approx(0.02)  # and its rate


def test_mixture_head_starts_spread_and_equal() -> None:
    import torch

    from foretell.model.fileformat import ModelSpec
    from foretell.model.torch_mdrnn import MDRNN
    from foretell.model.transform import DataTransform

    spec = ModelSpec(4, 2, 16, 5, DataTransform("log", 0.04, (0.0,) * 4, (1.0,) * 4))
    torch.manual_seed(3)
    net = MDRNN(spec)
    net.init_head()
    with torch.no_grad():
        raw, _ = net(torch.randn(2, 7, 4))  # (B, T, P)
    mu = raw[..., :20].reshape(2, 7, 5, 4)
    sigma, logits = raw[..., 20:40], raw[..., 40:]
    assert torch.allclose(sigma, torch.ones_like(sigma), atol=0.05)
    assert float(logits.abs().max()) < 0.05
    centres = mu.mean(dim=(0, 1, 3))  # (K,) one per component, spread and in order
    assert torch.all(centres.diff() > 0.4) and float(centres[0]) < -1.0 < 1.0 < float(centres[-1])


def test_default_dt_offset_is_what_training_uses() -> None:
    from foretell.model.transform import DEFAULT_DT_OFFSET

    assert TrainConfig().dt_offset == DEFAULT_DT_OFFSET == 0.04


def test_cosine_schedule_warms_up_then_falls_to_the_floor() -> None:
    config = TrainConfig(epochs=20, warmup_epochs=1.0, lr_min=1e-4)
    peak = 1e-2
    assert scheduled_rate(config, peak, 0.0) == pytest.approx(1e-4)
    assert scheduled_rate(config, peak, 0.5) == pytest.approx((1e-4 + 1e-2) / 2)
    assert scheduled_rate(config, peak, 1.0) == pytest.approx(peak)
    assert scheduled_rate(config, peak, 10.5) == pytest.approx((1e-4 + 1e-2) / 2)
    assert scheduled_rate(config, peak, 20.0) == pytest.approx(1e-4)
    rates = [scheduled_rate(config, peak, p / 10) for p in range(10, 201)]
    assert all(a >= b for a, b in itertools.pairwise(rates))


def test_training_follows_the_schedule_and_records_it(dataset: Dataset) -> None:
    config = replace(SMALL, epochs=4, patience=4, warmup_epochs=1.0)
    history = train(dataset, config).history
    rates = [r.learning_rate for r in history]  # the last step's rate of each epoch
    assert rates[0] > rates[1] > rates[2] > rates[3] >= config.lr_min
    assert 0.8 * initial_learning_rate(config) < rates[0] <= initial_learning_rate(config)


def test_a_moves_model_warms_up_over_the_whole_epochs_of_48_steps() -> None:
    """Adam's steps are near the full rate until its second moment has seen a good part of its
    window: one epoch of warm-up on a set of few batches is over before that."""
    config = TrainConfig(epochs=40)
    assert warmup_epochs_for(config, 13, moves=True) == 3.0  # the fader: 39 steps
    assert warmup_epochs_for(config, 24, moves=True) == 2.0
    assert warmup_epochs_for(config, 30, moves=True) == 1.0  # the drum pads: as before
    assert warmup_epochs_for(config, 400, moves=True) == 1.0  # big sets: one epoch, as before
    assert warmup_epochs_for(config, 2, moves=True) == 10.0  # a quarter of the run at most
    assert warmup_epochs_for(replace(config, warmup_epochs=3.0), 400, moves=True) == 3.0
    assert warmup_epochs_for(config, 13, moves=False) == 1.0  # the dense model: as before


def test_a_fader_of_few_batches_an_epoch_warms_up_for_longer() -> None:
    from foretell.bench.instruments import INSTRUMENTS

    fader = INSTRUMENTS["fader"].dataset(0, 0.2)  # 2,000 events: 9 batches of 8 an epoch
    config = replace(SMALL, epochs=8, patience=8)
    result = train(fader, config)
    rates = [r.learning_rate for r in result.history]  # the last step's rate of each epoch
    assert result.model.spec.controls is not None  # the default: a moves model
    assert result.model.info["config"]["warmup_epochs"] == 2.0  # a quarter of 8 epochs
    assert rates[0] < rates[1]  # still rising after the first epoch
    assert rates[1] > rates[2] > rates[7] >= config.lr_min
    dense = train(fader, replace(config, kinds="dense"))
    assert dense.model.info["config"]["warmup_epochs"] == 1.0
    assert dense.history[1].learning_rate > dense.history[2].learning_rate  # falling already


def test_patience_waits_for_two_windows_of_the_weight_average() -> None:
    """What is validated (the weights averaged over ``1 / (1 - decay)`` steps) trails the live
    weights by about a window: on a set of few batches per epoch, ``--patience`` epochs are
    fewer steps than that, and a recovering run was stopped before its average could show it."""
    from foretell.train.loop import patience_epochs

    assert patience_epochs(10, 0.99, 10) == 20  # the fader at full size: ten steps an epoch
    assert patience_epochs(10, 0.99, 8) == 25
    assert patience_epochs(10, 0.99, 50) == 10  # big sets: --patience as given
    assert patience_epochs(3, 0.99, 200) == 3
    assert patience_epochs(10, 0.0, 1) == 10  # no average: nothing trails
