"""``train()`` as the benchmarks call it: no output but an optional progress bar over epochs.

Kept apart from the benchmarks that train (``bench all``, ``bench temperatures``) so that each
imports it without importing the other. Torch is imported only when training starts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

if TYPE_CHECKING:
    from foretell.data.dataset import Dataset
    from foretell.train.loop import TrainResult


def train_quietly(
    dataset: Dataset,
    units: int,
    epochs: int | None = None,
    patience: int | None = None,
    seed: int = 0,
    desc: str = "",
    progress: bool = False,
) -> TrainResult:
    """``train()`` with a tqdm bar over epochs; ``None`` keeps training's own default."""
    from foretell.train.config import TrainConfig, with_defaults_for
    from foretell.train.loop import train

    config = TrainConfig(units=units, seed=seed, epochs=epochs, kinds="dense")
    config = with_defaults_for(replace(config, patience=patience or config.patience), dataset)
    bar = tqdm(total=config.epochs, desc=desc or f"train {units}", disable=not progress)

    def on_epoch(record: Any, improved: bool) -> None:
        bar.set_postfix_str(f"train {record.train_nll:.3f} val {record.val_nll:.3f}")
        bar.update(1)

    try:
        result = train(dataset, config, on_epoch=on_epoch)
    finally:
        bar.close()
    if result.stopped == "interrupted":
        raise KeyboardInterrupt
    return result
