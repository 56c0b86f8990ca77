"""``foretell run`` (perform live over OSC) and ``foretell dataset`` (logs -> training data)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from foretell.cli.io_commands import apply_transport_flags, transport_options
from foretell.config import MAX_DIMENSION, RunConfig, override
from foretell.config.instruments import parse_instrument_flag
from foretell.errors import ConfigError
from foretell.events import dimension_for
from foretell.impsy.config import import_model, read_run_config
from foretell.modes import get_mode, mode_names

if TYPE_CHECKING:
    from foretell.config.learn import LearnConfig
    from foretell.perform.build import ServiceMaker, Session
    from foretell.perform.engine import Service
    from foretell.perform.instrument import Instrument
    from foretell.project.layout import Project


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
    pi_temp: float | None = None,
    sigma_temp: float | None = None,
    threshold: float | None = None,
    timescale: float | None = None,
    thru: bool | None = None,
    seed: int | None = None,
    dimension: int | None = None,
    instruments: tuple[str, ...] = (),
    models_dir: Path | None = None,
    control_from: tuple[str, ...] = (),
) -> RunConfig:
    """The config file (if any) with the command-line options applied over it."""
    config = import_model(read_run_config(config_path)) if config_path else RunConfig()
    if instruments:
        added = tuple(parse_instrument_flag(text) for text in instruments)
        config = dataclasses.replace(config, instrument=(*config.instrument, *added))
    config = override(
        config,
        "model",
        file=model.resolve() if model else None,
        pi_temp=pi_temp,
        sigma_temp=sigma_temp,
        seed=seed,
        dir=models_dir.resolve() if models_dir else None,
    )
    config = override(
        config,
        "interaction",
        mode=mode,
        threshold=threshold,
        timescale=timescale,
        input_thru=thru,
        dimension=dimension,
    )
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


def _learner(learn: LearnConfig) -> ServiceMaker:
    """A learner beside the run's first instrument (``--learn``)."""
    from foretell.learn.coordinator import Learner

    def make(instruments: Sequence[Instrument]) -> list[Service]:
        return [Learner(learn, instruments[0], instruments[0].clock)]

    return make


async def perform(
    config: RunConfig,
    dashboard: tuple[str, int] | None = None,
    models_dir: Path | None = None,
    learn: LearnConfig | None = None,
    studio: Project | None = None,
) -> None:
    """Play ``config`` until Ctrl-C or SIGTERM; with ``dashboard`` (host, port) serve the page,
    and with ``studio`` the studio's page and API for that project beside it."""
    from foretell.perform.build import LoaderThread, build_engine
    from foretell.perform.show_loop import prompt_gil_handover

    prompt_gil_handover()  # other threads wait for the show's, not it for them
    session = build_engine(
        config,
        loader=LoaderThread().start(),  # its thread started here, not at the first load
        services=None if learn is None else _learner(learn),
    )
    transports = session.transports
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    session.engine.start()
    if learn is not None and session.engine.services[0].status()["state"] != "unavailable":
        what = f"learning {learn.schedule.describe()} into {learn.store}"
        click.echo(f"foretell: {what}", err=True)
    page = parts = None
    try:
        if dashboard is not None:
            from foretell.dashboard.server import DashboardError, serve_dashboard

            if studio is not None:
                from foretell.perform.show_loop import ShowLoop
                from foretell.studio.api import Studio

                parts = Studio(studio, session.engine, ShowLoop.here())
            served = config.dashboard
            try:
                page = serve_dashboard(
                    session.engine,
                    *dashboard,
                    models_dir,
                    names=served.names,
                    presets=served.presets(),
                    routes=() if parts is None else parts.routes(),
                    on_close=None if parts is None else parts.aclose,
                    control_from=config.osc.control_sources,
                )
            except DashboardError as exc:  # the option that moves it, this command's own
                option = "--port PORT" if studio is not None else "--dashboard PORT"
                raise DashboardError(f"{exc} with {option}") from None
            banner = page.banner() if parts is None else page.banner("studio", "studio/")
            for line in banner:
                click.echo(line, err=True)
        gc.freeze()  # everything built so far is long-lived: keep it out of collections
        for line in _instrument_lines(session) or [_started_line(config, session)]:
            click.echo(line, err=True)
        steer = config.osc.control_sources.describe()
        click.echo(f"foretell: control verbs (/foretell/*, /impsy/*) taken from {steer}", err=True)
        if transports.describe():
            click.echo("foretell: also " + "; ".join(transports.describe()), err=True)
        await stop.wait()
    finally:
        if page is not None:
            await page.aclose()
        session.engine.stop()
    for line in _stopped_lines(session) + _osc_lines(session):
        click.echo(line, err=True)
    if transports.counters():
        counts = ", ".join(f"{k} {v}" for k, v in transports.counters().items())
        click.echo(f"foretell: transports: {counts}", err=True)


def _instrument_lines(session: Session) -> list[str]:
    """One line per instrument of an ensemble (none for a single instrument)."""
    if not session.config.instrument:
        return []
    lines = []
    for name, inst in session.engine.instruments.items():
        source = session.sources[name]
        host, port = source.address
        out = session.outputs[name]
        lines.append(
            f"foretell: instrument {name}: OSC in {source.routes.input_address} on {host}:{port}, "
            f"out {out.osc_address} to "
            f"{out.host}:{out.port}; mode {inst.settings.mode}; model {inst.model_name or 'none'}"
        )
    return lines


def _stopped_lines(session: Session) -> list[str]:
    """The summary at exit: one line, or one per instrument of an ensemble (with its log)."""
    ensemble = bool(session.config.instrument)
    lines = []
    for inst in session.engine.instruments.values():
        snap = inst.snapshot()
        rejected = ", ".join(f"{k} {v}" for k, v in snap.rejected.items()) or "none"
        line = (
            f"stopped after {snap.inputs} inputs and {snap.answers + snap.generated} model events "
            f"({snap.answers} answering each input, {snap.generated} in its own time, "
            f"{snap.stale} stale); "
            f"rejected: {rejected}"
        )
        if snap.not_logged:
            line += f"; {snap.not_logged} rows not logged (the log's disk refused them)"
        if ensemble:
            line = f"instrument {snap.name}: {line}; log {snap.log_path or 'off'}"
        lines.append(f"foretell: {line}")
    return lines


def _osc_lines(session: Session) -> list[str]:
    """How each OSC port fared: datagrams read and the longest one wake-up took."""
    from foretell.io.osc import OscSource

    ports = {id(s.udp): s.udp for s, _ in session.engine.sources if isinstance(s, OscSource)}
    lag = session.engine.lag
    woke = []
    if lag is not None and lag.checks:
        late = lag.summary()
        woke = [
            f"foretell: the show's loop woke up to {late['max_ms']:.2f} ms late (p99 "
            f"{late['p99_ms']:.2f} ms, {late['over_5ms']} of {late['checks']} checks over 5 ms; "
            "what an input waited before it was read)"
        ]
    return woke + [
        f"foretell: OSC on {udp.host}:{udp.port}: {udp.received} datagrams in {udp.wakeups} "
        f"wake-ups, slowest {udp.slowest_wakeup * 1e3:.2f} ms "
        f"({udp.slowest_wakeup_cpu * 1e3:.2f} ms of CPU; {udp.slow_wakeups} over 5 ms)"
        for udp in ports.values()
    ]


def _started_line(config: RunConfig, session: Session) -> str:
    inst = session.instrument
    host, port = session.osc_in.address
    osc = config.osc
    return (
        f"foretell: listening for OSC on {host}:{port}, sending {osc.output_address} to "
        f"{osc.send_host}:{osc.send_port}; mode {inst.settings.mode}; model "
        f"{config.model.file or 'none'}; log {inst.log.path if inst.log else 'off'}"
    )


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
        click.option("--pi-temp", type=float, help="π-temperature of sampling."),
        click.option("--sigma-temp", type=float, help="σ-temperature of sampling."),
        click.option(
            "--threshold", type=float, help="Call-response: seconds of silence before answering."
        ),
        click.option("--timescale", type=float, help="Multiply every predicted dt by this factor."),
        click.option("--thru/--no-thru", default=None, help="Also send user inputs to the output."),
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
    model: Path | None,
    config_path: Path | None,
    mode: str | None,
    osc_in: str | None,
    osc_out: str | None,
    log_dir: Path | None,
    no_log: bool,
    pi_temp: float | None,
    sigma_temp: float | None,
    threshold: float | None,
    timescale: float | None,
    thru: bool | None,
    seed: int | None,
    controls: int | None,
    dimension: int | None,
    realtime: bool,
    dashboard: str | None,
    models_dir: Path | None,
    control_from: tuple[str, ...],
    learn: str | None,
    learn_data: Path | None,
    ws: str | None,
    serial: str | None,
    midi_in: tuple[str, ...],
    midi_out: tuple[str, ...],
    midi_api: str | None,
    instruments: tuple[str, ...],
) -> None:
    """Perform live: OSC /interface in, /prediction out, every interaction logged. Ctrl-C stops."""
    config = build_config(
        config_path,
        model=model,
        mode=mode,
        osc_in=osc_in,
        osc_out=osc_out,
        log_dir=log_dir,
        no_log=no_log,
        pi_temp=pi_temp,
        sigma_temp=sigma_temp,
        threshold=threshold,
        timescale=timescale,
        thru=thru,
        seed=seed,
        dimension=dimension_of(controls, dimension),
        instruments=instruments,
        models_dir=models_dir,
        control_from=control_from,
    )
    config = apply_transport_flags(config, ws, serial, midi_in, midi_out, midi_api)
    if realtime:
        click.echo(f"foretell: running at {raise_priority()}", err=True)
    served = config.dashboard  # [dashboard]: served without the flag when enabled
    page = _host_port(dashboard, served.host, "--dashboard") if dashboard else None
    if page is None and served.enabled:
        page = (served.host, served.port)
    models_dir = config.models_dir()
    learning = None
    if learn is not None:
        from foretell.config.learn import learn_config

        learning = learn_config(learn, models_dir.resolve() / "versions", learn_data)
    asyncio.run(perform(config, page, models_dir.resolve(), learning))


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
