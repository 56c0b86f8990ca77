"""``foretell demo``, in one place: train (or reuse) a small model on the bundled LightPad
performances, let it play on its own, then let it answer a simulated performer live.

- this module: the demo's files, whether a trained model can be reused, what training will
  take here (``training_promise``) and the live part with the bundled performance
  (``play_live``);
- ``generated``: the model playing on its own (CSV, plot, summary lines);
- ``live``: the call-and-response over real OSC sockets, on a ``foretell.run`` run.

Training itself is the command line's (``foretell train``'s progress bar); nothing here prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from foretell.data.dataset import bundled_dataset_path, load_dataset
from foretell.demo.generated import expected_training_seconds
from foretell.demo.live import LiveDemoResult, plot_live, run_live_demo, summarise_live
from foretell.run import Page, Running

if TYPE_CHECKING:
    from foretell.train.config import TrainConfig

MODEL_NAME = "demo-model.ftm"
LIVE_PICTURE = "demo-live.png"


def model_path(out_dir: Path) -> Path:
    """Where the demo keeps its model."""
    return out_dir / MODEL_NAME


def reusable(model: Path, data: Path) -> bool:
    """Whether ``model`` is a readable model trained on exactly ``data``."""
    from foretell.errors import ForetellError
    from foretell.model.fileformat import load_model

    if not model.is_file():
        return False
    try:
        info = load_model(model).info
    except ForetellError:
        return False
    return bool(info.get("data_fingerprint") == load_dataset(data).fingerprint())


def training_promise(data: Path, config: TrainConfig) -> str:
    """The demo's promise, for this machine: size, expected seconds, the CPUs it has now
    (needs torch, as training does)."""
    from foretell.train.config import batch_size_for, epochs_for
    from foretell.train.precision import lstm_in_bfloat16
    from foretell.train.threads import training_threads

    dataset_events = load_dataset(data).events
    events = min(dataset_events, config.epoch_events or 1 << 62)
    batch_size = batch_size_for(config, events)
    threads = training_threads(units=config.units, batch_size=batch_size)
    bfloat16 = lstm_in_bfloat16(config.precision)
    epochs = epochs_for(config, dataset_events)
    seconds = expected_training_seconds(events, config.units, epochs, threads, bfloat16)
    return (
        f"size s, {epochs} epochs: about {seconds:.0f} s here on {threads} "
        f"CPU{'s' if threads > 1 else ''}, longer if the machine is busy"
    )


def play_live(
    model: Path,
    out_dir: Path,
    phrases: int,
    dashboard_port: int | None = None,
    on_start: Callable[[Running], None] | None = None,
) -> tuple[LiveDemoResult, list[str]]:
    """The live part with the first bundled performance: its result and the lines saying what
    happened (the picture's among them). With ``dashboard_port`` the page is served and the
    performer plays on until Ctrl-C."""
    performance = load_dataset(bundled_dataset_path()).performances[0]
    keep_going = None
    page = None
    if dashboard_port is not None:
        keep_going = threading.Event()
        keep_going.set()
        page = Page("127.0.0.1", dashboard_port, out_dir)
    result = run_live_demo(
        model,
        performance,
        out_dir / "logs",
        phrases,
        page=page,
        on_start=on_start,
        keep_going=keep_going,
    )
    lines = summarise_live(result)
    picture = plot_live(out_dir / LIVE_PICTURE, result, performance)
    if picture is not None:
        lines.append(f"  picture: {picture}")
    return result, lines
