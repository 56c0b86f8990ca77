"""One gradient step and the validation pass, shared by ``train()`` and fine-tuning.

``foretell.train.loop`` (training from scratch) and ``foretell.learn.finetune`` (fine-tuning a
model on new performances) both take this step per batch: the mixture NLL in the network space,
averaged over the batch's real events, backward, the gradient norm clipped, one optimiser step.
Both score a model the same way (``evaluate``). What differs between them (learning-rate
schedule, weight averaging, what is kept) stays with each caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from foretell.model.torch_mdrnn import MDRNN
from foretell.train.batches import Batch, Segments, whole_segments
from foretell.train.optim import FlatAdam
from foretell.train.threads import threads_for_whole_segments


@dataclass(frozen=True)
class StepLoss:
    """What one training step saw: the summed data-space NLL over how many real events."""

    data_nll: float
    events: int


@contextmanager
def denormals_flushed() -> Iterator[None]:
    """Denormal floats read and written as zero on this thread (x86's FTZ and DAZ), then the
    default again. A training step has far-off mixture components, whose likelihoods and
    weights fall below float32's smallest normal number (1.2e-38): each arithmetic operation on
    such a denormal costs the CPU a slow microcode path, and a step of many of them several
    times the arithmetic (docs/model-format.md, "Training cost: the pads' wall"). Flushed, a
    value that small is zero, which it is to the loss and the gradient anyway. The default,
    restored after, is off: torch has no way to read the setting back."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def batch_nll(net: MDRNN, batch: Batch) -> torch.Tensor:
    """The data-space NLL summed over the batch's real events.

    The head and the mixture run on the real events alone, not on the padding after shorter
    segments, which can be most of a batch of whole segments of unequal length (validation):
    docs/evaluation/choices.md, "One training step"."""
    x, y, jacobian = (torch.from_numpy(a) for a in (batch.x, batch.y, batch.jacobian))
    real = torch.from_numpy(batch.mask > 0)  # (B, T)
    hidden, _ = net.lstm(x)  # (B, T, H)
    out = net.head_output(hidden[real], x[real])  # (N, P)
    return (net.head_nll(out, y[real]) - jacobian[real]).sum()


def train_step(
    net: MDRNN,
    optimizer: FlatAdam,
    batch: Batch,
    grad_clip: float,
    lstm_dtype: torch.dtype = torch.float32,
) -> StepLoss:
    """Fit ``net`` to ``batch`` once: NLL per event backward, clip the gradient norm, step
    (the LSTM computing in ``lstm_dtype``, see ``foretell.train.precision``)."""
    events = float(batch.mask.sum())
    x, y = torch.from_numpy(batch.x), torch.from_numpy(batch.y)  # (B, T, D) each
    weight = torch.from_numpy(batch.mask / np.float32(events))  # (B, T), sums to 1
    with denormals_flushed():
        optimizer.zero_grad()
        loss = net.training_nll(x, y, weight, lstm_dtype)  # network-space NLL per event
        loss.backward()
        optimizer.clip_grad_norm(grad_clip)
        optimizer.step()
    data_nll = loss.item() * events - float((batch.jacobian * batch.mask).sum())
    return StepLoss(data_nll, int(events))


def evaluate(net: MDRNN, segments: Segments) -> float:
    """Data-space NLL per event over whole segments from a fresh state, on one thread where
    the segments are too few to share the work (``threads_for_whole_segments``)."""
    kept = torch.get_num_threads()
    torch.set_num_threads(threads_for_whole_segments(net.spec.units, len(segments.lengths), kept))
    net.eval()
    try:
        with torch.no_grad(), denormals_flushed():
            total = batch_nll(net, whole_segments(segments))
    finally:
        net.train()
        torch.set_num_threads(kept)
    return float(total) / max(segments.targets, 1)
