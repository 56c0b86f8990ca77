"""Fine-tune a model on new performances, replaying some original data; judged on recent data.

``finetune(base, new, original, config)`` starts from ``base``'s weights and keeps its data
transform (so the model's input space does not move under a live performer). Each epoch trains on
the new performances' heads plus a random draw of the original dataset's performances worth
``replay`` times as many events (so the model does not forget what it knew), at a low learning
rate, one ``foretell.train.step.train_step`` per batch (the step ``train()`` takes). The tail
``val_fraction`` of every new performance (the most recent playing) is held out: the result is
*accepted* only if its NLL there beats the base model's by ``min_gain`` nats per event and its NLL
on a fixed sample of the original data is not worse by more than ``forget``.

Imports torch: only ``foretell.learn.worker`` (in a child process) and ``foretell train --resume``
call it. It reads and writes no files.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from foretell.config.learn import FinetuneConfig
from foretell.data.dataset import Dataset
from foretell.errors import DatasetError
from foretell.model.fileformat import ModelFile, weights_digest
from foretell.model.torch_mdrnn import MDRNN
from foretell.train.batches import MIN_SEGMENT, Segments, epoch_batches
from foretell.train.optim import FlatAdam
from foretell.train.step import evaluate, train_step


@dataclass(frozen=True)
class FinetuneResult:
    """The best fine-tuned model and how it scored against the base model."""

    model: ModelFile
    accepted: bool
    reason: str
    recent_before: float
    recent_after: float
    original_before: float | None
    original_after: float | None
    epochs: int
    seconds: float
    new_events: int

    def metrics(self) -> dict[str, Any]:
        return {
            "recent_nll_before": self.recent_before,
            "recent_nll_after": self.recent_after,
            "original_nll_before": self.original_before,
            "original_nll_after": self.original_after,
            "epochs": self.epochs,
            "seconds": round(self.seconds, 3),
            "new_events": self.new_events,
            "accepted": self.accepted,
            "reason": self.reason,
        }


def hold_out_recent(
    performances: Sequence[np.ndarray], fraction: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(train heads, recent tails): the last ``fraction`` of each performance long enough."""
    heads, tails = [], []
    for perf in performances:
        cut = len(perf) - round(fraction * len(perf))
        if len(perf) - cut >= MIN_SEGMENT and cut >= MIN_SEGMENT:
            heads.append(perf[:cut])
            tails.append(perf[cut:])
        elif len(perf) >= 2:
            heads.append(perf)
    if not tails:
        total = sum(len(p) for p in performances)
        raise DatasetError(
            f"too little new data to fine-tune ({total} events; need at least "
            f"{round(MIN_SEGMENT / max(fraction, 1e-3))} in one performance)"
        )
    return heads, tails


def _draw(
    performances: Sequence[np.ndarray], events: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Random whole performances (the last one cut) worth about ``events`` events."""
    chosen: list[np.ndarray] = []
    for index in rng.permutation(len(performances)):
        if events < MIN_SEGMENT:
            break
        perf = performances[int(index)]
        if len(perf) >= MIN_SEGMENT:
            chosen.append(perf[:events])
            events -= len(chosen[-1])
    return chosen


def _epoch_segments(
    heads: list[np.ndarray],
    original: Dataset | None,
    config: FinetuneConfig,
    model: ModelFile,
    rng: np.random.Generator,
) -> Segments:
    replayed: list[np.ndarray] = []
    if original is not None and config.replay > 0:
        wanted = round(config.replay * sum(len(h) for h in heads))
        replayed = _draw(original.performances, wanted, rng)
    return Segments.build([*heads, *replayed], model.spec.transform, model.spec)


def _train_epoch(
    net: MDRNN,
    optimizer: FlatAdam,
    segments: Segments,
    config: FinetuneConfig,
    rng: np.random.Generator,
) -> None:
    for batch in epoch_batches(segments, config.seq_len, config.batch_size, rng):
        train_step(net, optimizer, batch, config.grad_clip)


def finetune(
    base: ModelFile,
    new: Sequence[np.ndarray],
    original: Dataset | None,
    config: FinetuneConfig,
) -> FinetuneResult:
    """Fine-tune ``base`` on ``new`` performances (data space, ``(n, D)`` each); see the module."""
    started = time.perf_counter()
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    transform = base.spec.transform
    new = [np.asarray(p, dtype=np.float32) for p in new]
    if any(p.shape[1] != base.spec.dimension for p in new):
        raise DatasetError(
            f"the new data does not have the model's dimension {base.spec.dimension}"
        )
    heads, tails = hold_out_recent(new, config.val_fraction)
    recent = Segments.build(tails, transform, base.spec)
    check = None
    if original is not None:
        sample = _draw(original.performances, config.check_events, np.random.default_rng(1))
        check = Segments.build(sample, transform, base.spec) if sample else None

    net = MDRNN.from_model_file(base)
    recent_before = evaluate(net, recent)
    original_before = None if check is None else evaluate(net, check)
    optimizer = FlatAdam(net, lr=config.learning_rate)
    best_state, best, best_epoch, epoch = copy.deepcopy(net.state_dict()), recent_before, 0, 0
    for epoch in range(1, config.epochs + 1):
        _train_epoch(
            net, optimizer, _epoch_segments(heads, original, config, base, rng), config, rng
        )
        value = evaluate(net, recent)
        if value < best:
            best_state, best, best_epoch = copy.deepcopy(net.state_dict()), value, epoch
        out_of_time = time.perf_counter() - started > config.max_seconds
        if epoch - best_epoch >= config.patience or out_of_time:
            break
    net.load_state_dict(best_state)
    original_after = None if check is None else evaluate(net, check)
    accepted, reason = _judge(config, recent_before, best, original_before, original_after)
    seconds = time.perf_counter() - started
    info = {
        **base.info,
        "finetuned_from": weights_digest(base.weights),
        "finetune": asdict(config),
        "new_data_fingerprint": Dataset(tuple(new), base.spec.dimension).fingerprint(),
        "new_events": int(sum(len(p) for p in new)),
        "original_fingerprint": None if original is None else original.fingerprint(),
        "recent_nll_before": recent_before,
        "recent_nll_after": best,
        "best_val_nll": best,
    }
    return FinetuneResult(
        model=ModelFile(base.spec, net.to_weights(), info),
        accepted=accepted,
        reason=reason,
        recent_before=recent_before,
        recent_after=best,
        original_before=original_before,
        original_after=original_after,
        epochs=epoch,
        seconds=seconds,
        new_events=int(sum(len(p) for p in new)),
    )


def _judge(
    config: FinetuneConfig,
    recent_before: float,
    recent_after: float,
    original_before: float | None,
    original_after: float | None,
) -> tuple[bool, str]:
    """Accept only a clear gain on recent data that does not forget the original data."""
    if not math.isfinite(recent_after) or recent_after > recent_before - config.min_gain:
        return False, f"recent NLL {recent_after:.3f} does not beat {recent_before:.3f}"
    if original_before is None or original_after is None:
        return True, f"recent NLL {recent_before:.3f} -> {recent_after:.3f}"
    if original_after - original_before > config.forget:
        return False, (
            f"forgets the original data (NLL {original_before:.3f} -> {original_after:.3f})"
        )
    return True, f"recent NLL {recent_before:.3f} -> {recent_after:.3f}"
