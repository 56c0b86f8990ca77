"""``foretell run`` (perform live over OSC) and ``foretell dataset`` (logs -> training data)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from foretell.cli.io_commands import apply_transport_flags, transport_flags, transport_options
from foretell.cli.live_options import live_options, live_overrides
from foretell.config import MAX_DIMENSION, RunConfig, override
from foretell.config.instruments import parse_instrument_flag
from foretell.errors import ConfigError
from foretell.events import dimension_for
from foretell.impsy.config import import_model, read_run_config
from foretell.modes import get_mode, mode_names

if TYPE_CHECKING:
    from foretell.run import Running, RunSummary


def _host_port(text: str, default_host: str, option: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not PORT or HOST:PORT") from None
    return host or default_host, number


F = TypeVar("F", bound=Callable[..., Any])


def size_options(controls_help: str) -> Callable[[F], F]:
    """``--controls N`` and ``--dimension N+1``, the two ways to give an instrument's size."""

    def add(command: F) -> F:
        command = click.option(
            "--dimension",
            type=click.IntRange(2, MAX_DIMENSION),
            help="1 + number of controls (time is the 1): --controls 3 is --dimension 4.",
        )(command)
        return click.option(
            "--controls", type=click.IntRange(1, MAX_DIMENSION - 1), help=controls_help
        )(command)

    return add


def dimension_of(controls: int | None, dimension: int | None) -> int | None:
    """The dimension ``--controls`` or ``--dimension`` gives (1 + controls); both must agree."""
    if controls is not None and dimension is not None and dimension != dimension_for(controls):
        raise click.UsageError(
            f"--controls {controls} and --dimension {dimension} disagree "
            f"(--dimension is 1 + the controls: {dimension_for(controls)}); give one of them"
        )
    return dimension if controls is None else dimension_for(controls)


def build_config(
    config_path: Path | None = None,
    *,
    model: Path | None = None,
    mode: str | None = None,
    osc_in: str | None = None,
    osc_out: str | None = None,
    log_dir: Path | None = None,
    no_log: bool = False,
    seed: int | None = None,
    dimension: int | None = None,
    instruments: tuple[str, ...] = (),
    models_dir: Path | None = None,
    control_from: tuple[str, ...] = (),
    **live: float | bool | None,
) -> RunConfig:
    """The config file (if any) with the command-line options applied over it (``live``: the
    live settings' options, by field name: ``pi_temp``, ``input_thru``, ...)."""
    config = import_model(read_run_config(config_path)) if config_path else RunConfig()
    if instruments:
        added = tuple(parse_instrument_flag(text) for text in instruments)
        config = dataclasses.replace(config, instrument=(*config.instrument, *added))
    config = override(
        config,
        "model",
        file=model.resolve() if model else None,
        seed=seed,
        dir=models_dir.resolve() if models_dir else None,
    )
    config = live_overrides(config, live)
    config = override(config, "interaction", mode=mode, dimension=dimension)
    if control_from:
        entries = tuple(e for text in control_from for e in text.split(",") if e.strip())
        config = override(config, "osc", control_from=(*config.osc.control_from, *entries))
    if osc_in:
        host, port = _host_port(osc_in, config.osc.listen_host, "--osc-in")
        config = override(config, "osc", listen_host=host, listen_port=port)
    if osc_out:
        host, port = _host_port(osc_out, config.osc.send_host, "--osc-out")
        config = override(config, "osc", send_host=host, send_port=port)
    config = override(
        config, "log", dir=(log_dir or config.log.dir).resolve(), enabled=False if no_log else None
    )
    unplayable = None
    if model is None and config.model.file is not None and not config.instrument:
        unplayable = why_unplayable(config.model.file, config.interaction.dimension)
        if unplayable is not None:  # a configured model: the instrument starts without it
            config = dataclasses.replace(config, model=dataclasses.replace(config.model, file=None))
    needs_model = get_mode(config.interaction.mode).needs_model and not config.instrument
    if config.model.file is None and needs_model:
        if mode is not None:
            raise ConfigError(f"mode {mode} needs a model (give --model, or use --mode useronly)")
        if unplayable is None and config_path is not None:  # a mode the file asks for
            click.echo(
                f"foretell: mode {config.interaction.mode} needs a model and none is configured: "
                "logging the player (mode useronly) until one is loaded (Perform in the studio, "
                "or /foretell/load NAME)",
                err=True,
            )
        config = override(config, "interaction", mode="useronly")
    if unplayable is not None:
        click.echo(
            f"foretell: the configured model is not played: {unplayable}; logging the player "
            "(mode useronly) until a model is loaded (Perform in the studio, or /foretell/load)",
            err=True,
        )
    return config


def why_unplayable(path: Path, dimension: int | None) -> str | None:
    """Why the model file ``path`` cannot play an instrument of ``dimension`` (None: it can)."""
    from foretell.errors import ForetellError
    from foretell.model.protocol import load

    try:
        model = load(path)
    except ForetellError as exc:
        return str(exc)
    if dimension is not None and model.dimension != dimension:
        return size_mismatch(path, model.dimension, dimension)
    return None


def size_mismatch(path: Path, model: int, instrument: int) -> str:
    """The line that says a model and its instrument differ in size."""
    return (
        f"model {path.name} plays {model - 1} controls (dimension {model}); the instrument is "
        f"set to {instrument - 1} (dimension {instrument})"
    )


def raise_priority() -> str:
    """Ask the OS for real-time scheduling (SCHED_FIFO); say what was granted."""
    import os

    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        return "real-time priority (SCHED_FIFO 10)"
    except (AttributeError, PermissionError, OSError) as exc:
        return f"normal priority (real-time refused: {exc}; needs CAP_SYS_NICE or an rtprio limit)"


def say_started(running: Running) -> None:
    """Print what a run says once it plays (``on_start`` of ``foretell.run.run``)."""
    for line in running.lines():
        click.echo(line, err=True)


def say_stopped(summary: RunSummary) -> None:
    """Print a run's summary at exit."""
    for line in summary.lines():
        click.echo(line, err=True)


def playing_options(command: F) -> F:
    """The options of how one instrument plays, shared by ``run`` and ``studio``: the model, the
    mode, sampling, OSC ports, control sources, the other transports, real-time priority."""
    options = [
        click.option(
            "--model",
            type=click.Path(path_type=Path),
            help="Model file (.ftm). Without it: useronly, log only.",
        ),
        click.option("--mode", type=click.Choice(mode_names()), help="Interaction mode."),
        click.option(
            "--osc-in", help="Listen for OSC on PORT or HOST:PORT (default 0.0.0.0:6000)."
        ),
        click.option("--osc-out", help="Send predictions to HOST:PORT (default 127.0.0.1:6001)."),
        *live_options(),
        click.option("--seed", type=int, help="Seed the sampler."),
        click.option(
            "--realtime",
            is_flag=True,
            help="Ask the OS for real-time scheduling (steadier timing).",
        ),
        click.option(
            "--control-from",
            multiple=True,
            metavar="HOST[,HOST...]",
            help=(
                "Also take control commands (/foretell/*, /impsy/*) from these hosts or networks "
                "(e.g. 192.168.1.20 or 192.168.1.0/24; * for anyone). Default: this machine only."
            ),
        ),
        transport_options,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@playing_options
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="TOML config (see docs/performance.md).",
)
@click.option(
    "--log-dir", type=click.Path(path_type=Path), help="Where session logs go (default ./logs)."
)
@click.option("--no-log", is_flag=True, help="Do not write a session log.")
@size_options(
    "Number of controls, the values of one /interface message (only needed without a model)."
)
@click.option(
    "--dashboard",
    is_flag=False,
    flag_value="8765",
    metavar="[PORT|HOST:PORT]",
    help=(
        "Serve the dashboard (see, steer, play in a browser) on 127.0.0.1:8765 or PORT; "
        "HOST 0.0.0.0 serves the LAN (a phone) with a per-run token in the printed URL."
    ),
)
@click.option(
    "--models-dir",
    type=click.Path(path_type=Path),
    help=(
        "Model files the dashboard may hot-load, and where --learn keeps versions (in versions/). "
        "Default: the folder of the model (with --instrument, the first instrument's), "
        "else ./models."
    ),
)
@click.option(
    "--instrument",
    "instruments",
    multiple=True,
    metavar="NAME=MODEL:IN_PORT[/ADDRESS]:OUT_HOST:OUT_PORT",
    help=(
        "Add an OSC instrument to an ensemble (repeatable; the other options apply to all). "
        "IN_PORT/ADDRESS also sets its input address, so instruments can share a port: "
        "6000/lead/interface."
    ),
)
@click.option(
    "--learn",
    metavar="every=N|every=Ss|'on demand'",
    help=(
        "Fine-tune the model (with --instrument, the first instrument's) in the background on "
        "this session's playing (needs torch)."
    ),
)
@click.option(
    "--learn-data",
    type=click.Path(path_type=Path),
    help="With --learn: the original dataset, replayed against forgetting.",
)
def run(
    config_path: Path | None,
    controls: int | None,
    dimension: int | None,
    realtime: bool,
    dashboard: str | None,
    learn: str | None,
    learn_data: Path | None,
    **options: Any,
) -> None:
    """Perform live: OSC /interface in, /prediction out, every interaction logged. Ctrl-C stops."""
    transports = transport_flags(options)
    config = build_config(config_path, dimension=dimension_of(controls, dimension), **options)
    config = apply_transport_flags(config, transports)
    if realtime:
        click.echo(f"foretell: running at {raise_priority()}", err=True)
    served = config.dashboard  # [dashboard]: served without the flag when enabled
    page = _host_port(dashboard, served.host, "--dashboard") if dashboard else None
    if page is None and served.enabled:
        page = (served.host, served.port)
    models_dir = config.models_dir().resolve()
    learning = None
    if learn is not None:
        from foretell.config.learn import learn_config

        learning = learn_config(learn, models_dir / "versions", learn_data)
    from foretell.run import Page, run

    shown = None if page is None else Page(*page, models_dir, moved_by="--dashboard PORT")
    say_stopped(run(config, shown, learning, on_start=say_started))


@click.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Dataset file (.npz).")
@click.option(
    "--source",
    type=click.Choice(["user", "model", "all"]),
    default="user",
    show_default=True,
    help="Which rows to keep.",
)
def dataset(logs: tuple[Path, ...], out: Path, source: str) -> None:
    """Turn performance logs (files or directories, foretell's or IMPSY's) into a dataset."""
    from foretell.data.logs_to_dataset import build_dataset

    report = build_dataset(logs, out, source)  # type: ignore[arg-type]
    click.echo(
        f"wrote {report.performances} performances, {report.events} events "
        f"(dimension {report.dimension}) from {len(report.files)} log(s) to {report.out}"
    )
    for path, why in report.skipped_files:
        click.echo(f"skipped {path}: {why}", err=True)
    if report.broken:
        click.echo(f"skipped {len(report.broken)} broken line(s):", err=True)
        for line in report.broken[:10]:
            click.echo(f"  {line}", err=True)
        if len(report.broken) > 10:
            click.echo(f"  ... and {len(report.broken) - 10} more", err=True)
    if report.raised_dt:
        click.echo(f"raised {report.raised_dt} zero interval(s) to 1 µs", err=True)
