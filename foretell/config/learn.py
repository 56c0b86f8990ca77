"""The settings of learning while playing: when to fine-tune, on what, how, and where versions go.

Plain frozen values (no torch, no I/O): the engine side builds a ``LearnConfig`` from the command
line; each fine-tune job carries a ``FinetuneConfig`` into the learner process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from foretell.config.schedule import LearnSchedule, parse_schedule
from foretell.errors import ConfigError


@dataclass(frozen=True)
class FinetuneConfig:
    """The choices of one fine-tune (saved in the new model's info)."""

    learning_rate: float = 1e-3
    epochs: int = 30
    patience: int = 5
    seq_len: int = 50
    batch_size: int = 16
    replay: float = 1.0  # original events per new event in each epoch (0: none)
    val_fraction: float = 0.2  # the tail of each new performance held out
    min_gain: float = 0.0  # nats per event the recent NLL must improve by
    forget: float = 0.5  # nats per event the original NLL may worsen by
    check_events: int = 5000  # original events in the forgetting check
    max_seconds: float = 60.0  # stop training after this long (the best so far is kept)
    grad_clip: float = 1.0
    seed: int = 0
    threads: int = 1


@dataclass(frozen=True)
class LearnConfig:
    """``foretell run --learn``: the schedule, the version store and the original dataset."""

    schedule: LearnSchedule
    store: Path  # the models directory every version is kept in
    original: Path | None = None  # the dataset replayed against forgetting
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    min_events: int = 100  # the performer's events logged before the first fine-tune
    nice: int = 19  # the lowest priority: the engine (and everything else) goes first


def learn_config(schedule: str, store: Path, original: Path | None) -> LearnConfig:
    """``foretell run --learn SCHEDULE [--learn-data DATASET]`` as a ``LearnConfig``."""
    if original is not None and not original.is_file():
        raise ConfigError(f"--learn-data {original} does not exist")
    original = None if original is None else original.resolve()
    return LearnConfig(parse_schedule(schedule), store, original)
