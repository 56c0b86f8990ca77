"""``foretell train`` and ``foretell demo`` (torch and matplotlib are imported inside commands)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from foretell.data.dataset import bundled_dataset_path, load_dataset
from foretell.errors import ConfigError, DependencyError
from foretell.model.fileformat import PRESET_LAYERS, SIZE_PRESETS
from foretell.train.precision import PRECISIONS

if TYPE_CHECKING:
    from foretell.run import Running
    from foretell.train.config import TrainConfig
    from foretell.train.loop import EpochRecord, TrainResult
    from foretell.train.progress import ProgressLines


def _require_torch() -> None:
    from foretell.install import install_hint

    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise DependencyError(
            f"training needs PyTorch, the train extra: {install_hint('train')}"
        ) from exc


def training_config(size: str, **overrides: Any) -> TrainConfig:
    """A ``TrainConfig`` from a size preset and the options the user actually gave."""
    from foretell.train.config import TrainConfig

    if size not in SIZE_PRESETS:
        raise ConfigError(f"unknown size {size!r} (choose from {', '.join(SIZE_PRESETS)})")
    config = TrainConfig(units=SIZE_PRESETS[size], layers=PRESET_LAYERS.get(size, 2), size=size)
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


class _Progress:
    """A tqdm bar over epochs (on stderr; silent when stderr is not a terminal)."""

    def __init__(self, epochs: int, disable: bool | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, unit="epoch", disable=disable, dynamic_ncols=True)
        self.best = float("inf")

    def __call__(self, record: EpochRecord, improved: bool) -> None:
        self.best = min(self.best, record.val_nll)
        self.bar.set_postfix_str(
            f"train {record.train_nll:.3f} val {record.val_nll:.3f} best {self.best:.3f}"
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


Progress = bool | None | Literal["json"]
"""``True``/``None``: a bar on a terminal, else plain lines; ``False``: nothing; ``"json"``:
one JSON object per epoch on stdout (``ProgressJson``) and nothing on stderr."""


def _progress(config: TrainConfig, progress: Progress) -> _Progress | ProgressLines:
    """The ``on_epoch`` callback for ``progress`` (see ``Progress``), counting to the epochs
    ``config`` settled for its data."""
    from foretell.train.config import settled_epochs
    from foretell.train.progress import ProgressJson, ProgressLines

    epochs = settled_epochs(config)
    if progress == "json":
        return ProgressJson(epochs, sys.stdout)
    if progress is False or sys.stderr.isatty():
        return _Progress(epochs, disable=progress is False)
    return ProgressLines(epochs, sys.stderr)


def run_training(
    data: Path, config: TrainConfig, out: Path, clip: bool = False, progress: Progress = None
) -> TrainResult:
    """Load, train (with a progress bar), save the best model and its loss curves (drawn by a
    child process that loads matplotlib while this one loads torch)."""
    from foretell.train.curve_painter import CurvePainter

    with CurvePainter() as painter:
        _require_torch()
        from foretell.model.fileformat import save_model
        from foretell.train.config import with_defaults_for
        from foretell.train.curves import write_curves
        from foretell.train.loop import train

        dataset = load_dataset(data, clip=clip)
        config = with_defaults_for(config, dataset)  # the bar counts to the epochs this set gets
        bar = _progress(config, progress)
        try:
            result = train(dataset, config, on_epoch=bar)
        finally:
            bar.close()
        save_model(out, result.model.with_info(seed=config.seed, size=config.size))
        title = f"{dataset.name}: {out.name}"
        write_curves(out, result.history, result.best_epoch, title, painter.paint)
    return result


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--size",
    default="s",
    show_default=True,
    type=click.Choice(list(SIZE_PRESETS)),
    help="Size preset (LSTM units; xl has 3 layers).",
)
@click.option("--layers", type=click.IntRange(1), help="LSTM layers [default: from --size].")
@click.option("--units", type=click.IntRange(1), help="LSTM units [default: from --size].")
@click.option("--mixtures", type=click.IntRange(1), help="Mixture components [default: 5].")
@click.option("--seq-len", type=click.IntRange(2), help="Steps per training window [default: 25].")
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    help="Windows per batch [default: 32, fewer on small sets so an epoch takes 12 steps, "
    "down to 8].",
)
@click.option(
    "--epochs",
    type=click.IntRange(1),
    help="Length of the learning-rate schedule, and the most epochs run [default: 40, 50 on "
    "sets of 40000 events or more].",
)
@click.option(
    "--epoch-events",
    type=click.IntRange(1),
    help="Most training events per epoch; bigger sets see a new random part each epoch "
    "[default: 100000].",
)
@click.option(
    "--patience",
    type=click.IntRange(1),
    help="Stop after this many epochs without a better validation NLL [default: 10].",
)
@click.option(
    "--lr",
    "learning_rate",
    type=click.FloatRange(0, min_open=True),
    help="Adam's peak learning rate [default: 0.02 times sqrt(batch size / 8), times "
    "128/units above 128 units].",
)
@click.option(
    "--sigma-min",
    type=click.FloatRange(0, min_open=True),
    help="Narrowest mixture spread, in standardised units [default: one step of the controls' "
    "resolution, at least 0.001].",
)
@click.option("--val-split", type=float, help="Fraction held out for validation [default: 0.1].")
@click.option(
    "--dense",
    is_flag=True,
    help="Train the dense model (every control continuous, every control moving in every "
    "event: IMPSY's behaviour) instead of picking each control's kind from the data.",
)
@click.option(
    "--kinds",
    help="Override the kinds picked from the data, e.g. x1=set,x3=continuous (or "
    "all=continuous); kinds: continuous, grid, set.",
)
@click.option(
    "--grid-centres",
    type=click.Choice(["pick", "absolute", "relative", "auto", "gated"]),
    help="Where a moves model's grid logistics centre: on the network's output (absolute), on "
    "the control's previous value plus it (relative), relative for the grid controls the "
    "data moves in small steps (auto), as auto but only where the control did not move in "
    "the event just seen (gated), or gated where the player moves one control at a time and "
    "absolute elsewhere (pick) [default: pick].",
)
@click.option(
    "--step-inputs",
    type=click.Choice(["pick", "on", "off"]),
    help="Whether a moves model's network also reads each grid control's step since the "
    "previous event (which way it turns and how fast): on, off, or on where the player moves "
    "one control at a time (pick) [default: pick].",
)
@click.option(
    "--threads",
    type=click.IntRange(1),
    help="Torch threads [default: one where a step is too small to share (the default size), "
    "else one per CPU free to this process when training starts].",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    help="The LSTM's number format while training [default: auto, bfloat16 where the CPU has "
    "it natively]; the saved model is float32 either way.",
)
@click.option("--seed", type=int, help="Seed for a reproducible run [default: 0].")
@click.option("--clip", is_flag=True, help="Clip out-of-range controls instead of refusing.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Model file to write [default: DATA-SIZE.ftm in this directory].",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    help="Fine-tune this model (.ftm) on DATA (.npz or logs) instead; same transform, LR 1e-3.",
)
@click.option(
    "--replay",
    type=click.Path(path_type=Path),
    help="With --resume: the original dataset, mixed in against forgetting.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
@click.option(
    "--progress-json",
    is_flag=True,
    help='One JSON object per epoch on stdout ({"epoch", "epochs", "train", "val", "best_epoch", '
    '"best_val", "elapsed_s", "eta_s"}) instead of the progress bar.',
)
def train(
    data: Path,
    size: str,
    clip: bool,
    out: Path | None,
    as_json: bool,
    progress_json: bool,
    **options: Any,
) -> None:
    """Train an MDRNN on DATA (.npz), early-stopped on validation NLL; writes MODEL.ftm and its
    loss curves (MODEL.curves.csv, MODEL.curves.png). Ctrl-C stops and keeps the best model."""
    resume, replay = options.pop("resume"), options.pop("replay")
    dense, kinds = options.pop("dense"), options.pop("kinds")
    if resume is not None:
        if progress_json:
            raise click.UsageError("--progress-json does not apply to --resume")
        _resume(resume, data, replay, out, clip, as_json, options)
        return
    if dense and kinds:
        raise click.UsageError("--dense and --kinds do not go together")
    config = training_config(size, **options, kinds="dense" if dense else kinds)
    out = (out if out is not None else Path(f"{data.stem}-{size}.ftm")).resolve()
    result = run_training(data, config, out, clip=clip, progress="json" if progress_json else None)
    from foretell.train.progress import end_line

    ending = end_line(result, config.patience)
    summary = {**result.summary(), "model": str(out), "ending": ending}
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"best validation NLL {result.best_val_nll:.4f} nats/event at epoch {result.best_epoch} "
        f"of {result.epochs_run}; {result.train_seconds:.1f} s "
        f"({summary['seconds_per_epoch']:.3f} s/epoch)"
    )
    click.echo(ending)
    click.echo(f"wrote {out} and its loss curves")


def _resume(
    model: Path,
    data: Path,
    replay: Path | None,
    out: Path | None,
    clip: bool,
    as_json: bool,
    options: dict[str, Any],
) -> None:
    """``train --resume``: fine-tune MODEL on DATA (see ``foretell.learn.resume``)."""
    _require_torch()
    from foretell.learn.resume import finetune_config, resume_training

    out = (out if out is not None else model.with_name(f"{model.stem}-resumed.ftm")).resolve()
    result = resume_training(model, data, replay, out, finetune_config(options), clip)
    summary = {**result.metrics(), "model": str(out) if result.accepted else None}
    if as_json:
        click.echo(json.dumps(summary))
    elif result.accepted:
        click.echo(f"{result.reason} nats/event ({result.epochs} epochs, {result.seconds:.1f} s)")
        click.echo(f"wrote {out}")
    else:
        click.echo(f"not better than {model} ({result.reason}); wrote nothing")


@click.command()
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Where the demo writes its model, performance and plot.",
)
@click.option(
    "--steps", default=400, show_default=True, type=click.IntRange(1), help="Events to generate."
)
@click.option("--retrain", is_flag=True, help="Train a new model even if one is there.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--phrases",
    default=3,
    show_default=True,
    type=click.IntRange(0),
    help="Phrases the simulated performer plays live (0: skip the live part).",
)
@click.option(
    "--dashboard",
    "dashboard_port",
    type=int,
    is_flag=False,
    flag_value=8765,
    default=None,
    metavar="[PORT]",
    help="Serve the dashboard (default port 8765) and play on until Ctrl-C.",
)
def demo(
    out_dir: Path,
    steps: int,
    retrain: bool,
    seed: int,
    phrases: int,
    dashboard_port: int | None,
) -> None:
    """Train (or reuse) a small model on the bundled LightPad data, let it play, then answer a
    simulated performer live over OSC in call-and-response."""
    from foretell import demo as the_demo
    from foretell.demo.generated import generate_demo, summarise

    out_dir = out_dir.resolve()
    model_path = the_demo.model_path(out_dir)
    data = bundled_dataset_path()
    reused = not retrain and the_demo.reusable(model_path, data)
    if not reused:
        config = training_config("s", seed=seed)
        _require_torch()
        promise = the_demo.training_promise(data, config)
        click.echo(f"training a small model on {data.name} ({promise})...")
        run_training(data, config, model_path)
    for line in summarise(generate_demo(model_path, out_dir, steps, seed), reused):
        click.echo(line)
    if not phrases and dashboard_port is None:
        return
    phrases = max(phrases, 1)
    click.echo(
        f"live: a simulated performer plays {phrases} phrases over OSC; the model answers..."
    )

    def playing(_: Running) -> None:
        if dashboard_port is not None:
            click.echo(
                f"dashboard: http://127.0.0.1:{dashboard_port}/ (the simulated performer plays "
                "on; Ctrl-C ends the demo)"
            )

    _, lines = the_demo.play_live(model_path, out_dir, phrases, dashboard_port, playing)
    for line in lines:
        click.echo(line)
