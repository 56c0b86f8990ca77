"""``foretell train --resume MODEL.ftm DATA``: the live learner's fine-tune, from the command line.

DATA is a dataset (``.npz``) or performance logs (files or directories of ``*-mdrnn.log``, user
rows). The model's transform and architecture are kept; the result is written only if it beats the
model on the held-out tail of DATA (and does not forget ``--replay`` data). Imports torch only
when called.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from foretell.config.learn import FinetuneConfig
from foretell.errors import ConfigError
from foretell.learn.finetune import FinetuneResult

OPTION_NAMES = {  # foretell train's options -> FinetuneConfig fields
    "epochs": "epochs",
    "patience": "patience",
    "learning_rate": "learning_rate",
    "seq_len": "seq_len",
    "batch_size": "batch_size",
    "seed": "seed",
    "val_split": "val_fraction",
}
ARCHITECTURE = ("layers", "units", "mixtures", "sigma_min", "grid_centres", "step_inputs")


def finetune_config(options: dict[str, Any]) -> FinetuneConfig:
    """``FinetuneConfig`` from ``foretell train``'s options; architecture options are refused."""
    fixed = [name for name in ARCHITECTURE if options.get(name) is not None]
    if fixed:
        raise ConfigError(
            f"--{fixed[0].replace('_', '-')} cannot change with --resume: the model's is kept"
        )
    changes = {
        OPTION_NAMES[k]: v for k, v in options.items() if k in OPTION_NAMES and v is not None
    }
    return replace(FinetuneConfig(), **changes)  # one torch thread: small models, busy hosts


def read_new_data(data: Path, clip: bool) -> list[np.ndarray]:
    """Performances from a dataset file, or from logs (a log file or a directory of them)."""
    from foretell.data.dataset import load_dataset
    from foretell.data.logs_to_dataset import logs_to_performances

    if data.suffix == ".npz":
        return list(load_dataset(data, clip=clip).performances)
    performances, _ = logs_to_performances([data], "user")
    return performances


def resume_training(
    model_path: Path,
    data: Path,
    replay: Path | None,
    out: Path,
    config: FinetuneConfig,
    clip: bool = False,
) -> FinetuneResult:
    """Fine-tune ``model_path`` on ``data``; save to ``out`` only if accepted."""
    from foretell.data.dataset import load_dataset
    from foretell.learn.finetune import finetune
    from foretell.model.fileformat import load_model, save_model

    base = load_model(model_path)
    original = None if replay is None else load_dataset(replay, clip=True)
    result = finetune(base, read_new_data(data, clip), original, config)
    if result.accepted:
        save_model(out, result.model.with_info(resumed_from=str(model_path)))
    return result
