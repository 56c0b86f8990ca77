"""``TrainConfig``: every choice a training run makes, and the defaults it settles on the data.

The choices (sizes, schedule, batch, epochs, rates) live here without torch, so building a
config, or estimating a run's cost, never loads it; ``foretell.train.loop`` runs them. The
measurements behind each default are in the docstring of the function that chooses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError
from foretell.model.fileformat import ModelSpec
from foretell.model.transform import DEFAULT_DT_OFFSET, DataTransform
from foretell.train.precision import PRECISIONS, Precision

GRID_CENTRES = ("pick", "absolute", "relative", "auto", "gated")  # a moves model's grid centres
STEP_INPUTS = ("pick", "on", "off")  # whether a moves model reads its grid controls' steps
_DEFAULT_SPEC = ModelSpec(2, 1, 1, 1, DataTransform("log", DEFAULT_DT_OFFSET, (0, 0), (1, 1)))
DEFAULT_FLOOR_WEIGHT = _DEFAULT_SPEC.floor_weight
DEFAULT_FLOOR_SIGMA = _DEFAULT_SPEC.floor_sigma
REFERENCE_LEARNING_RATE, REFERENCE_BATCH, WIDEST_AT_REFERENCE_RATE = 2e-2, 8, 128
LARGEST_BATCH, SMALLEST_BATCH, MIN_STEPS_PER_EPOCH = 32, 8, 12
DEFAULT_EPOCHS, LONGER_EPOCHS, LONGER_FROM_EVENTS = 40, 50, 40_000
MOVES_WARMUP_STEPS = 48  # a moves model warms up over the whole epochs these hold
Schedule = Literal["cosine", "plateau"]


@dataclass(frozen=True)
class TrainConfig:
    """Every choice a training run makes (saved in the model's info)."""

    layers: int = 2
    units: int = 64
    mixtures: int = 5
    seq_len: int = 25
    batch_size: int | None = None  # None: 32, fewer on small sets (batch_size_for)
    epochs: int | None = None  # the cosine schedule's length and the cap (None: epochs_for)
    patience: int = 10
    learning_rate: float | None = None  # None: 2e-2, lower above 128 units (initial_learning_rate)
    schedule: Schedule = "cosine"  # "plateau": halve the LR when validation stalls (older)
    warmup_epochs: float = 1.0  # cosine: linear warm-up from lr_min over this many epochs
    # (a moves model's: the whole epochs of MOVES_WARMUP_STEPS steps, warmup_epochs_for)
    epoch_events: int | None = 100_000  # most training targets per epoch (None: all)
    lr_decay_patience: int = 4  # plateau: epochs without improvement before the LR is halved
    lr_min: float = 1e-4
    adam_beta2: float = 0.99  # Adam's second-moment decay (torch's default is 0.999)
    grad_clip: float = 1.0
    average_decay: float = 0.99  # validate and keep an exponential average of the weights
    val_split: float = 0.1
    seed: int = 0
    dt_offset: float = DEFAULT_DT_OFFSET  # 40 ms, see foretell.model.transform
    floor_weight: float = DEFAULT_FLOOR_WEIGHT
    floor_sigma: float = DEFAULT_FLOOR_SIGMA
    sigma_min: float | None = None  # None: from the controls' resolution (train.resolution)
    threads: int | None = None  # None: one per CPU free to this process (train.threads)
    precision: Precision = "auto"  # the LSTM's number format (train.precision)
    size: str | None = None  # the preset name, if one was used
    kinds: str = "auto"  # "auto", "dense" or overrides "x1=set,x2=grid" (model.control_kinds)
    grid_centres: str = "pick"  # pick, absolute, relative, auto or gated (train.loop.grid_centring)
    step_inputs: str = "pick"  # pick, on or off (train.loop.reads_steps)

    def check(self) -> None:
        problems = [
            (
                min(self.layers, self.units, self.mixtures) < 1,
                "layers, units, mixtures must be >= 1",
            ),
            (self.seq_len < 2, "--seq-len must be at least 2"),
            (
                self.batch_size is not None and self.batch_size < 1,
                "--batch-size must be at least 1",
            ),
            (self.epochs is not None and self.epochs < 1, "--epochs must be at least 1"),
            (self.patience < 1, "--patience must be at least 1"),
            (
                self.learning_rate is not None and not self.learning_rate > 0,
                "the learning rate must be positive",
            ),
            (self.sigma_min is not None and not self.sigma_min > 0, "--sigma-min must be > 0"),
            (self.threads is not None and self.threads < 1, "--threads must be at least 1"),
            (self.schedule not in ("cosine", "plateau"), "the schedule is cosine or plateau"),
            (
                self.grid_centres not in GRID_CENTRES,
                f"--grid-centres is one of {', '.join(GRID_CENTRES)}",
            ),
            (
                self.step_inputs not in STEP_INPUTS,
                f"--step-inputs is one of {', '.join(STEP_INPUTS)}",
            ),
            (self.precision not in PRECISIONS, f"--precision is one of {', '.join(PRECISIONS)}"),
            (self.warmup_epochs < 0, "warm-up epochs must be >= 0"),
            (not 0.0 <= self.adam_beta2 < 1.0, "Adam's beta2 must be in [0, 1)"),
            (
                self.epoch_events is not None and self.epoch_events < 1,
                "--epoch-events must be at least 1",
            ),
        ]
        for bad, what in problems:
            if bad:
                raise ConfigError(what)


def batch_size_for(config: TrainConfig, train_events: int) -> int:
    """``config.batch_size``, else 32 windows, fewer on small sets so that an epoch takes at
    least 12 steps (down to 8 windows): every run gets about 500 steps or more.

    What a run learns depends on how many steps it takes more than on how many events each sees:
    LightPad 12k (about 410 windows an epoch) takes 13 steps an epoch in batches of 32, enough,
    but a set a quarter that size would take 3, and learns little in 40 epochs
    (docs/evaluation/choices.md, "Batch size"). Small sets cost little either way.
    """
    if config.batch_size is not None:
        return config.batch_size
    events = train_events if config.epoch_events is None else min(train_events, config.epoch_events)
    windows = math.ceil(events / config.seq_len)
    return max(SMALLEST_BATCH, min(LARGEST_BATCH, windows // MIN_STEPS_PER_EPOCH))


def epochs_for(config: TrainConfig, events: int) -> int:
    """``config.epochs``, else 40, or 50 on a set of 40,000 events or more.

    Big sets keep improving for longer, small ones do not: the ten more epochs gain on LightPad
    100k and on a 50k synthetic set, nothing on 12k or 30k, and cost every set their time
    (docs/evaluation/choices.md, "Epochs").
    """
    if config.epochs is not None:
        return config.epochs
    return LONGER_EPOCHS if events >= LONGER_FROM_EVENTS else DEFAULT_EPOCHS


def with_defaults_for(config: TrainConfig, dataset: Dataset) -> TrainConfig:
    """``config`` with the epochs that ``dataset`` gets (what progress bars count to)."""
    return replace(config, epochs=epochs_for(config, dataset.events))


def settled_epochs(config: TrainConfig) -> int:
    """The epochs of a config ``with_defaults_for`` has settled."""
    if config.epochs is None:
        raise ValueError("the epochs depend on the data: settle them with with_defaults_for")
    return config.epochs


def initial_learning_rate(config: TrainConfig) -> float:
    """Adam's peak learning rate: ``config.learning_rate``, else 2e-2 at batches of 8 times
    sqrt(batch / 8), lowered above 128 units.

    The cosine schedule averages half its peak, so a 2e-2 peak keeps the mean step of the older
    constant 1e-2 phase. A batch n times bigger averages out n times less of the gradient's
    noise per step, which sqrt(n) more step size spends. Adam moves every weight by about the
    learning rate per step, whatever the layer's width, and a wider recurrent layer sums more of
    those moves: wider layers get ``128 / units`` of it, so 256 and 512 units keep the rates that
    suited them under the constant schedule (1e-2 and 5e-3 at batch 8). The runs behind each
    step: docs/evaluation/choices.md, "Learning rate".
    """
    if config.learning_rate is not None:
        return config.learning_rate
    batch = math.sqrt((config.batch_size or LARGEST_BATCH) / REFERENCE_BATCH)
    return REFERENCE_LEARNING_RATE * batch * min(1.0, WIDEST_AT_REFERENCE_RATE / config.units)


def warmup_epochs_for(config: TrainConfig, steps: int, moves: bool) -> float:
    """``config.warmup_epochs``; a moves model's, on a set of ``steps`` batches an epoch, as many
    whole epochs as ``MOVES_WARMUP_STEPS`` steps hold, if that is more (up to a quarter of the
    run).

    Adam divides the gradient's mean by its spread, averaged over about 100 steps (``1 / (1 -
    adam_beta2)``): until it has seen a good part of them every step is near the full rate
    whatever the gradient, and a run's loudest gradients come first. On a set of a few batches
    an epoch (the fader's 10k events: 13 steps) one epoch of warm-up is 13 such steps; there a
    moves model's grid logistic that had not sharpened before the peak stayed broad (its flat
    share standing in for it) until the rate fell, and scored 0.5 to 2.5 nats behind dense at 4
    seeds of 10. Warmed up over 3 epochs (39 steps) it was ahead of dense at every seed. Sets
    of 25 steps an epoch or more (the drum pads, the knobs) keep ``warmup_epochs``, and the
    dense model keeps it everywhere (over 100 steps it scored worse on the fader): see
    docs/model-format.md, "The warm-up".
    """
    if not moves or steps <= 0:
        return config.warmup_epochs
    whole = math.floor(MOVES_WARMUP_STEPS / steps)
    return max(config.warmup_epochs, min(whole, settled_epochs(config) / 4))


def scheduled_rate(config: TrainConfig, peak: float, progress: float) -> float:
    """The cosine schedule's LR at ``progress`` epochs: a linear warm-up, then a half cosine.

    It rises from ``lr_min`` to ``peak`` over ``warmup_epochs`` and falls back to ``lr_min`` at
    ``config.epochs``: the steps are large while the model is far from any minimum and shrink to
    settle it, in a known number of epochs (the cap is the schedule's length, not a guess).
    """
    epochs = settled_epochs(config)
    floor, warmup = min(config.lr_min, peak), min(config.warmup_epochs, epochs / 2)
    if progress < warmup:
        return floor + (peak - floor) * progress / warmup
    remaining = (progress - warmup) / max(epochs - warmup, 1e-9)
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * min(remaining, 1.0)))
