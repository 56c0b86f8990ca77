"""``train()``: fit an MDRNN to a dataset, early-stopped on validation NLL. One readable function.
What it is asked to do (``TrainConfig``) and the defaults it settles on the data (batch, epochs,
peak rate, the schedule's rate at each step) are in ``foretell.train.config``, which needs no torch.

What the time to a good model depends on is the number of useful gradient steps and what each
costs: an epoch shows every training event once as a target (non-overlapping windows at a random
offset, see ``foretell.train.batches``), in batches of 32 windows of 25 steps (fewer on small
sets, ``batch_size_for``), with Adam
(second-moment decay 0.99, ``adam_beta2``). The learning rate follows a fixed schedule
(``scheduled_rate``): a one-epoch linear warm-up (a moves model's: the whole epochs 48 steps
hold, ``warmup_epochs_for``) to the peak (2e-2 times sqrt(batch / 8), lower above 128 units,
``initial_learning_rate``), then a half cosine down to ``lr_min`` at the last epoch (40, or 50
on sets of 40k events or more: ``epochs_for``), so a run's length is known when it starts and its
end lands on a small step. What is validated and kept is an exponential
average of the weights over about the last 100 steps (``average_decay``), which smooths out the
noise of a high learning rate. Validation NLL (whole validation segments from a fresh state, as
``foretell trace`` scores, in the data space, per event, in nats: ``mean(-log p(z) -
log|dz/dx|)``) picks the epoch kept and stops a run that has not improved for ``patience``
epochs; the data transform is fitted on the training split only. Sets bigger than
``epoch_events`` see a new random part of themselves each epoch, so no set costs more than
``epochs * epoch_events`` event-steps. The LSTM computes in bfloat16 where the CPU has it
natively (``foretell.train.precision``), which halves the cost of batches this big.

Batches of 32 with Adam's beta2 at 0.99: torch's 0.999 averages the squared gradient over about
1000 steps, longer than the loud first epochs last, so every later step is too small; at 0.99
(about 100 steps) bigger batches in bfloat16 learn more per second than small ones. Fewer steps to
save time cost more than they save: a run this short is short of steps, not of data. The runs
behind these choices: docs/evaluation/choices.md, "The training schedule".

Threads: one where a step is too small to share (the default size), else one per CPU free
to this process (``foretell.train.threads``). Each step is cheap
because nothing in it is generic: ``FlatAdam`` updates one flat weight buffer (and builds no
``torch.optim`` object, whose first use imports ``torch._dynamo``: 1.5 s), and the mixture
NLL's gradient is written out (``MixtureNLL``).

The best model so far is kept in memory; Ctrl-C (KeyboardInterrupt) ends training cleanly and
returns it. Nothing here prints: progress goes to the ``on_epoch`` callback.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch

from foretell.data.dataset import Dataset
from foretell.errors import ConfigError
from foretell.model.control_kinds import (
    ControlKind,
    choose_controls,
    flat_ranges,
    plays_one_at_a_time,
    small_step_grids,
)
from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.moves_spec import moves_spec
from foretell.model.torch_mdrnn import MDRNN
from foretell.model.torch_moves import start_grid_controls_alike
from foretell.model.transform import DataTransform
from foretell.train.batches import Segments, epoch_batches, split_dataset
from foretell.train.config import (
    TrainConfig,
    batch_size_for,
    initial_learning_rate,
    scheduled_rate,
    settled_epochs,
    warmup_epochs_for,
    with_defaults_for,
)
from foretell.train.moved_flags import FlagShift
from foretell.train.optim import FlatAdam, flatten_parameters
from foretell.train.precision import lstm_dtype
from foretell.train.resolution import sigma_floor
from foretell.train.step import evaluate, train_step
from foretell.train.threads import training_threads

log = logging.getLogger(__name__)
StopReason = Literal["patience", "epochs", "interrupted"]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_nll: float
    val_nll: float
    learning_rate: float
    seconds: float  # since training started


@dataclass(frozen=True)
class TrainResult:
    model: ModelFile  # the best checkpoint
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_nll: float = math.inf
    train_seconds: float = 0.0
    seconds_to_best: float = 0.0
    stopped: StopReason = "epochs"

    @property
    def epochs_run(self) -> int:
        return len(self.history)

    def summary(self) -> dict[str, Any]:
        return {
            "best_val_nll": self.best_val_nll,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "train_seconds": round(self.train_seconds, 3),
            "seconds_per_epoch": round(self.train_seconds / max(self.epochs_run, 1), 4),
            "seconds_to_best": round(self.seconds_to_best, 3),
            "stopped": self.stopped,
        }


class WeightAverage:
    """An exponential average of the weights in ``live`` (``net``'s flat buffer, ``FlatAdam``'s
    ``params``), the mean of the steps so far at first, kept in a copy of ``net``.

    With ``decay`` 0 it is off: ``update`` does nothing and the network itself is scored.
    """

    def __init__(self, net: MDRNN, decay: float, live: torch.Tensor) -> None:
        self.net = copy.deepcopy(net)
        self.decay = decay
        self._averaged, _ = flatten_parameters(self.net)
        self._live = live
        self._steps = 0

    @property
    def enabled(self) -> bool:
        return self.decay > 0

    def update(self) -> None:
        """Fold in the live weights after one more step (weight 1/steps until 1 - decay)."""
        if not self.enabled:
            return
        self._steps += 1
        with torch.no_grad():
            self._averaged.lerp_(self._live, max(1.0 - self.decay, 1.0 / self._steps))


AVERAGE_WINDOWS_OF_PATIENCE = 2


def patience_epochs(patience: int, decay: float, steps_per_epoch: int) -> int:
    """``patience``, but never fewer epochs than two windows of the weight average (``1 / (1 -
    decay)`` steps): what is validated trails the live weights by about one window, so on a set
    of a few batches per epoch (the fader's 10k events: ten steps, a window of ten epochs) a
    run that is recovering was stopped before its average could show it (docs/model-format.md,
    "Early stopping and the weight average")."""
    if decay <= 0.0 or steps_per_epoch <= 0:
        return patience
    window = 1.0 / (1.0 - decay)
    return max(patience, math.ceil(AVERAGE_WINDOWS_OF_PATIENCE * window / steps_per_epoch))


class Plateau:
    """The older schedule: halve the rate after ``patience`` epochs without a better validation
    NLL, down to ``min_lr`` (``torch.optim.lr_scheduler.ReduceLROnPlateau``'s rule, without a
    ``torch.optim`` optimiser, see ``foretell.train.optim``). Better means lower by 1e-4 of the
    best's size: torch's ``best * (1 - 1e-4)`` counts an unchanged negative NLL as better."""

    def __init__(self, patience: int, min_lr: float, factor: float = 0.5) -> None:
        self.patience, self.min_lr, self.factor = patience, min_lr, factor
        self.best, self.bad_epochs = math.inf, 0

    def rate(self, current: float, val_nll: float) -> float:
        """The rate for the next epoch, after one with ``val_nll``."""
        if not math.isfinite(self.best) or val_nll < self.best - 1e-4 * abs(
            self.best
        ):  # torch's would pass an equal NLL < 0
            self.best, self.bad_epochs = val_nll, 0
            return current
        self.bad_epochs += 1
        if self.bad_epochs <= self.patience:
            return current
        self.bad_epochs = 0
        lowered = max(current * self.factor, self.min_lr)
        return lowered if current - lowered > 1e-8 else current


@dataclass(frozen=True)
class HeldOutScore:
    """NLL per event (data space, nats) on performances the model never trained or stopped on."""

    nll: float  # over all their events
    per_performance: tuple[float, ...]
    events: int


def held_out_nll(model: ModelFile, performances: Sequence[np.ndarray]) -> HeldOutScore:
    """Score ``model`` on held-out performances, each from a fresh state (as ``trace`` does)."""
    net = MDRNN.from_model_file(model)
    kept = [p for p in performances if len(p) >= 2]
    if not kept:
        raise ConfigError("no held-out performance has two events to score")
    transform = model.spec.transform
    overall = Segments.build(kept, transform, model.spec)
    each = tuple(evaluate(net, Segments.build([p], transform, model.spec)) for p in kept)
    return HeldOutScore(evaluate(net, overall), each, overall.targets)


def build_spec(
    config: TrainConfig,
    dimension: int,
    transform: DataTransform,
    sigma_min: float,
    controls: tuple[ControlKind, ...] | None = None,
    patterns: tuple[int, ...] = (),
    other_patterns: bool = False,
    flat_ranges: tuple[tuple[int, int], ...] = (),
    relative: tuple[int, ...] = (),
    gated: bool = False,
    steps: bool = False,
) -> ModelSpec:
    dense = ModelSpec(
        dimension,
        config.layers,
        config.units,
        config.mixtures,
        transform,
        sigma_min=sigma_min,
        floor_weight=config.floor_weight,
        floor_sigma=config.floor_sigma,
    )
    if controls is None:
        return dense
    return moves_spec(
        dense,
        controls,
        patterns,
        other_patterns,
        flat_ranges,
        relative,
        gated,
        steps,
    )


def grid_centring(
    centres: str, train: Sequence[np.ndarray], controls: tuple[ControlKind, ...] | None
) -> tuple[tuple[int, ...], bool]:
    """The grid controls whose logistics centre on their previous value, and whether only where
    the control did not move in the event just seen (gated): none (``absolute``), every one
    (``relative``), those the training data moves in small steps (``auto``; ``gated`` the
    same, gated; ``control_kinds.small_step_grids``), or, by default (``pick``), ``gated``
    where the player plays one control at a time (``control_kinds.plays_one_at_a_time``: a
    knob box) and ``absolute`` elsewhere (docs/model-format.md, "Gated relative centres")."""
    if centres == "pick":
        one_at_a_time = controls is not None and plays_one_at_a_time(train, controls)
        centres = "gated" if one_at_a_time else "absolute"
    if controls is None or centres == "absolute":
        return (), False
    if centres == "relative":
        return tuple(i for i, kind in enumerate(controls) if kind.kind == "grid"), False
    return small_step_grids(train, controls), centres == "gated"


def reads_steps(
    choice: str, train: Sequence[np.ndarray], controls: tuple[ControlKind, ...] | None
) -> bool:
    """Whether a moves model reads its grid controls' steps (``model.moves.step_inputs``):
    ``on``, ``off``, or by default (``pick``) where the player plays one control at a time
    (``control_kinds.plays_one_at_a_time``: a knob box), whose turns' direction and speed the
    network could not read from the values (docs/model-format.md, "Step inputs")."""
    if controls is None or choice == "off":
        return False
    return choice == "on" or plays_one_at_a_time(train, controls)


def model_kinds(
    config: TrainConfig, train: Sequence[np.ndarray]
) -> tuple[tuple[ControlKind, ...] | None, tuple[int, ...], bool]:
    """The control kinds and named moving sets ``config.kinds`` asks for on this training data
    (``foretell.model.control_kinds.choose_controls``), and whether the model has a slot for
    the sets it does not name: where it saw more than it names, or has no floor to give them a
    chance. A bad request is one ``ConfigError`` line."""
    try:
        controls, patterns, truncated = choose_controls(train, config.kinds)
    except ValueError as exc:
        raise ConfigError(f"--kinds: {exc}") from exc
    return controls, patterns, truncated or config.floor_weight == 0


def continuous_sigma_floor(
    events: np.ndarray, transform: DataTransform, controls: tuple[ControlKind, ...] | None
) -> float:
    """``sigma_floor`` over the controls a Gaussian density scores: a grid or set control is
    scored by its cells' probabilities, which no spread can push above one."""
    if controls is None:
        return sigma_floor(events, transform)
    keep = [0] + [1 + i for i, kind in enumerate(controls) if not kind.discrete]
    kept = DataTransform(
        transform.dt_kind,
        transform.dt_offset,
        tuple(transform.loc[d] for d in keep),
        tuple(transform.scale[d] for d in keep),
        transform.dt_min,
    )
    return sigma_floor(events[:, keep], kept)


def train(
    dataset: Dataset,
    config: TrainConfig,
    on_epoch: Callable[[EpochRecord, bool], None] | None = None,
) -> TrainResult:
    """Train on ``dataset`` and return the best model (by validation NLL) with its history.

    ``on_epoch(record, improved)`` is called after every epoch (progress bars, logging).
    """
    config.check()
    config = with_defaults_for(config, dataset)
    epochs = settled_epochs(config)
    started = time.perf_counter()
    dtype = lstm_dtype(config.precision)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)

    split = split_dataset(dataset, config.val_split, rng)
    train_events = np.concatenate(split.train)
    transform = DataTransform.fit(train_events, dt_offset=config.dt_offset)
    controls, patterns, other = model_kinds(config, split.train)
    sigma_min = (
        continuous_sigma_floor(train_events, transform, controls)
        if config.sigma_min is None
        else config.sigma_min
    )
    flat = () if controls is None else flat_ranges(split.train, controls)
    relative, gated = grid_centring(config.grid_centres, split.train, controls)
    spec = build_spec(
        config,
        dataset.dimension,
        transform,
        sigma_min,
        controls,
        patterns,
        other,
        flat,
        relative,
        gated,
        reads_steps(config.step_inputs, split.train, controls),
    )
    train_set, val_set = (
        Segments.build(split.train, transform, spec),
        Segments.build(split.val, transform, spec),
    )
    flags = FlagShift.fit(spec, train_set)  # a moves model trains on centred moved flags
    if flags is not None:
        train_set, val_set = flags.apply(train_set), flags.apply(val_set)
    batch_size = batch_size_for(config, train_set.targets)
    config = replace(config, batch_size=batch_size)  # the model's info records what was used
    threads = training_threads(config.threads, config.units, batch_size)
    torch.set_num_threads(threads)
    log.debug(
        "split by %s: %d train, %d val events", split.by, split.train_events, split.val_events
    )

    net = MDRNN(spec, None if flags is None else torch.from_numpy(flags.loc))  # gates: raw flags
    net.init_head()  # the mixture starts spread out, with equal weights
    start_grid_controls_alike(net.head, spec)  # but alike on grid controls
    peak = initial_learning_rate(config)
    optimizer = FlatAdam(net, lr=peak, betas=(0.9, config.adam_beta2))
    plateau = Plateau(config.lr_decay_patience, config.lr_min)
    cosine = config.schedule == "cosine"
    average = WeightAverage(net, config.average_decay, optimizer.params)
    scored = average.net if average.enabled else net
    best_state, best_val, best_epoch, best_time = copy.deepcopy(net.state_dict()), math.inf, 0, 0.0
    history: list[EpochRecord] = []
    stopped: StopReason = "epochs"
    try:
        for epoch in range(1, epochs + 1):
            total, count = 0.0, 0
            batches = list(
                epoch_batches(train_set, config.seq_len, batch_size, rng, config.epoch_events)
            )
            if epoch == 1:  # the warm-up's length in epochs: what the info records
                warmup = warmup_epochs_for(config, len(batches), moves=controls is not None)
                config = replace(config, warmup_epochs=warmup)
            for index, batch in enumerate(batches):
                if cosine:
                    rate = scheduled_rate(config, peak, epoch - 1 + index / len(batches))
                    optimizer.lr = rate
                loss = train_step(net, optimizer, batch, config.grad_clip, dtype)
                average.update()
                total, count = total + loss.data_nll, count + loss.events
            val_nll = evaluate(scored, val_set)
            if not cosine:
                optimizer.lr = plateau.rate(optimizer.lr, val_nll)
            record = EpochRecord(
                epoch,
                total / count,
                val_nll,
                optimizer.lr,
                time.perf_counter() - started,
            )
            history.append(record)
            improved = val_nll < best_val
            if improved:
                best_state, best_val, best_epoch = (
                    copy.deepcopy(scored.state_dict()),
                    val_nll,
                    epoch,
                )
                best_time = record.seconds
            if on_epoch is not None:
                on_epoch(record, improved)
            patience = patience_epochs(config.patience, config.average_decay, len(batches))
            if epoch - best_epoch >= patience:
                stopped = "patience"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
        log.info("interrupted: keeping the best model so far (epoch %d)", best_epoch)

    net.load_state_dict(best_state)
    seconds = time.perf_counter() - started
    info = {
        "data_name": dataset.name,
        "data_fingerprint": dataset.fingerprint(),
        "data_events": dataset.events,
        "data_performances": len(dataset.performances),
        "split_by": split.by,
        "train_events": split.train_events,
        "val_events": split.val_events,
        "best_val_nll": best_val,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "stopped": stopped,
        "train_seconds": round(seconds, 3),
        "config": asdict(config),
        "learning_rate": initial_learning_rate(config),
        "sigma_min": sigma_min,
        "threads": threads,
        "lstm_dtype": str(dtype).removeprefix("torch."),
        "torch_version": torch.__version__,
    }
    weights = net.to_weights()
    return TrainResult(
        model=ModelFile(spec, weights if flags is None else flags.fold(weights), info),
        history=history,
        best_epoch=best_epoch,
        best_val_nll=best_val,
        train_seconds=seconds,
        seconds_to_best=best_time,
        stopped=stopped,
    )
