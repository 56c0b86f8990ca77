"""Build a run from its ``RunConfig``: ``build_engine(config)`` wires every instrument, its
transports and the services between them in one pass, and opens nothing (``engine.start()`` does).

Every run is an ensemble of one or more instruments. A config without ``[instrument.NAME]``
sections is one instrument, ``main``, with the top-level sections as they are. Otherwise each
``InstrumentConfig`` is resolved against the top-level sections (``resolve``); each model file is
loaded once (instruments naming the same file share its weights, fused once, and keep their own
LSTM state and generator); each instrument gets its own OSC input (its port, or one shared with
others told apart by input address; live control ``/foretell/NAME/VERB`` on that port), OSC
output and log, and its MIDI, serial and WebSocket (``foretell.config.sections``,
one ``MidiPorts`` for the whole run). ``listen_to`` links become a ``CrossListening`` router with
its loop guard. Instruments that share a model file (and keep ``batch`` on) step together per loop
wake-up (``foretell.perform.batching`` says exactly what is batched).

Defaults an ensemble instrument inherits beyond the shadowed sections: it listens on ``[osc]
listen_port`` plus its index (port 0 stays 0: any free port), sends ``/NAME{[osc]
output_address}`` (so one receiver can tell the instruments apart), logs to ``[log] dir / NAME``,
and, when ``[model] seed`` is set, seeds its sampler with seed + index (instruments sharing a model
do not play in unison).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from foretell.clock import Clock, LoopClock
from foretell.config import OscConfig, RunConfig, override
from foretell.config.instruments import InstrumentConfig, listen_spec
from foretell.config.sections import transport_sections
from foretell.data.log import LogWriter
from foretell.errors import ConfigError, ControlError
from foretell.events import Event, controls_of
from foretell.io.base import Sink
from foretell.io.osc import OscPort, OscRoutes, OscSink, OscSource, refuse_feedback
from foretell.io.transports import Listener, Transports, build_transports
from foretell.model.constraints import Constraints
from foretell.model.protocol import Voice, load, load_voice
from foretell.modes import get_mode
from foretell.perform import steering
from foretell.perform.batching import BatchedVoice, BatchingOscSource, StepBatcher
from foretell.perform.engine import Engine, Service
from foretell.perform.instrument import Instrument, ModelLoader, Settings
from foretell.perform.lateness import LoopLag
from foretell.perform.listeners import Listeners
from foretell.perform.listening import CrossListening
from foretell.perform.scheduler import Scheduler
from foretell.settings import SETTINGS

if TYPE_CHECKING:
    from foretell.io.midi_ports import MidiPorts  # mido: imported only for a MIDI run

SINGLE = "main"  # the name of the one instrument of a run without [instrument.NAME] sections
ServiceMaker = Callable[[Sequence[Instrument]], Sequence[Service]]


@dataclass
class Session:
    """A run's engine with its parts at hand: each instrument's OSC input and output (``osc_in``
    and ``osc_out`` are the first instrument's), its other transports, the cross-listening router
    and the step batcher."""

    config: RunConfig
    engine: Engine
    sources: dict[str, OscSource]
    outputs: dict[str, OscSink]
    transports: Transports
    listening: CrossListening | None
    batcher: StepBatcher

    @property
    def instrument(self) -> Instrument:
        return self.engine.instrument()

    @property
    def osc_in(self) -> OscSource:
        return self.sources[self.instrument.name]

    @property
    def osc_out(self) -> OscSink:
        return self.outputs[self.instrument.name]


class LoaderThread:
    """A ``ModelLoader`` that reads each file on a thread of its own (one per run, created on
    the first load) and calls ``done`` on the loop that asked: never asyncio's default
    executor, where a server's file work would queue in front of the show's model (15.6 s
    behind 8 plots, measured). Starting a thread waits until it runs (14 ms on a busy machine,
    measured): ``start()`` it before the show plays, or the first load waits on the show's loop.
    """

    def __init__(self) -> None:
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, "foretell-model-loader")
        return self._executor

    def start(self) -> LoaderThread:
        """Start the thread now (it idles until the first load)."""
        self._pool().submit(int).result()
        return self

    def __call__(self, path: Path, done: Callable[[Voice | BaseException], None]) -> None:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool(), load_voice, path)

        def finished(f: asyncio.Future[Voice]) -> None:
            if f.cancelled():
                return
            error = f.exception()
            done(error if error is not None else f.result())

        future.add_done_callback(finished)


def config_value(config: RunConfig, key: str) -> Any:
    """The value of ``section.key`` in ``config`` (a live setting's ``config_key``)."""
    section, name = key.split(".")
    return getattr(getattr(config, section), name)


def settings_from(config: RunConfig) -> Settings:
    """An instrument's starting ``Settings``: every live setting from its config key."""
    i = config.interaction
    constraints = Constraints()
    for command in i.steering_commands():
        constraints = steering.apply(constraints, command, None)  # type: ignore[arg-type]
    live = {s.field: config_value(config, s.config_key) for s in SETTINGS}
    return Settings(
        constraints=constraints,
        condition_on=i.condition_on,
        mode=get_mode(i.mode).name,
        out_of_range=i.out_of_range,
        log_predictions=config.log.predictions,
        **live,
    )


def _jsonable(config: RunConfig) -> dict[str, Any]:
    return {
        name: {k: str(v) if isinstance(v, Path) else v for k, v in section.items()}
        for name, section in dataclasses.asdict(config).items()
        if isinstance(section, dict)  # not the [instrument.NAME] tuple (logged per instrument)
    }


def osc_routes(config: RunConfig) -> OscRoutes:
    """The OSC addresses ``config`` gives an instrument."""
    osc = config.osc
    return OscRoutes(osc.input_address, osc.control_prefix, osc.impsy_control, osc.control_sources)


def _check_steering(config: RunConfig, controls: int | None) -> None:
    """``ConfigError`` if a configured constraint names a control the instrument lacks."""
    constraints = Constraints()
    try:
        for command in config.interaction.steering_commands():
            constraints = steering.apply(constraints, command, controls)  # type: ignore[arg-type]
    except ControlError as exc:
        raise ConfigError(f"[interaction] {exc}") from None
    beyond = [i for i in config.interaction.condition_on if controls is not None and i >= controls]
    if beyond:
        raise ConfigError(
            f"interaction.condition_on names control {beyond[0]}; this instrument has "
            f"{controls} controls (0..{(controls or 1) - 1})"
        )


def _dimension(config: RunConfig, runtime: Voice | None) -> int | None:
    """Values per event of an instrument: its model's, else the configured one (or unknown)."""
    return runtime.model.dimension if runtime is not None else config.interaction.dimension


def build_instrument(
    name: str,
    config: RunConfig,
    clock: Clock,
    scheduler: Scheduler,
    sinks: Sequence[Sink],
    runtime: Voice | None,
    loader: ModelLoader,
    listeners: Listeners,
    **log_meta: object,
) -> Instrument:
    """One instrument as ``config`` says (settings, model, log file opened at start), telling
    ``listeners`` its events."""
    dimension = _dimension(config, runtime)
    configured = config.interaction.dimension
    if runtime is not None and configured is not None and configured != runtime.model.dimension:
        theirs = runtime.model.dimension
        raise ConfigError(
            f"{'instrument ' + name + ': ' if name != SINGLE else ''}model "
            f"{Path(str(config.model.file)).name} plays {theirs - 1} controls (dimension "
            f"{theirs}), not the {configured - 1} the instrument is set to (--controls, "
            "--dimension or [interaction] dimension): give its size or leave the size out"
        )
    log = None
    if config.log.enabled and dimension is None:
        raise ConfigError(
            f"{'instrument ' + name + ': ' if name != SINGLE else ''}logging without a model needs "
            "the instrument's size: give --controls N (or --dimension N+1, or [interaction] "
            "dimension), or a model"
        )
    _check_steering(config, controls_of(dimension))
    if config.log.enabled:
        meta = {"config": _jsonable(config), **log_meta}
        log = LogWriter(config.log.dir, clock, meta)
    return Instrument(
        name,
        settings_from(config),
        clock,
        scheduler,
        sinks,
        runtime=runtime,
        log_writer=log,
        dimension=dimension,
        loader=loader,
        listeners=[listeners],
        model_name=None if config.model.file is None else str(config.model.file),
        models_dir=config.models_dir(),
    )


def _pick(value: object, default: object) -> object:
    return default if value is None else value


def resolve(config: RunConfig, inst: InstrumentConfig, index: int) -> RunConfig:
    """The single-instrument ``RunConfig`` of ``inst`` (its keys over the top-level sections)."""
    seed = inst.seed
    if seed is None and config.model.seed is not None:
        seed = config.model.seed + index
    out = dataclasses.replace(config, instrument=())
    out = override(out, "model", file=inst.model, seed=seed)
    for setting in SETTINGS:
        out = override(out, setting.section, **{setting.key: getattr(inst, setting.key)})
    out = override(
        out,
        "interaction",
        mode=inst.mode,
        dimension=inst.dimension,
        ranges=inst.ranges,
        holds=inst.holds,
        control_temps=inst.control_temps,
        dt_range=inst.dt_range,
        condition_on=inst.condition_on,
    )
    osc = config.osc
    out = override(
        out,
        "osc",
        listen_host=inst.listen_host,
        listen_port=_pick(inst.listen_port, osc.listen_port + index if osc.listen_port else 0),
        send_host=inst.send_host,
        send_port=inst.send_port,
        input_address=inst.input_address,
        output_address=_pick(inst.output_address, f"/{inst.name}{osc.output_address}"),
        control_prefix=f"{osc.control_prefix}/{inst.name}",
    )
    out = override(
        out, "log", enabled=inst.log, dir=_pick(inst.log_dir, config.log.dir / inst.name)
    )
    if out.model.file is None and get_mode(out.interaction.mode).needs_model:
        out = override(out, "interaction", mode="useronly")
    return out


def _resolved(config: RunConfig) -> list[tuple[str, RunConfig]]:
    """Each instrument's own single-instrument config: ``main`` with the config as it is, or
    every ``[instrument.NAME]`` resolved against the top-level sections."""
    if not config.instrument:
        return [(SINGLE, config)]
    resolved = [(inst.name, resolve(config, inst, i)) for i, inst in enumerate(config.instrument)]
    if len({name for name, _ in resolved}) != len(resolved):
        raise ConfigError("instrument names must be unique")
    return resolved


def _shared_ports(resolved: Sequence[tuple[str, RunConfig]]) -> dict[str, OscPort]:
    """One ``OscPort`` per listen_port that several instruments name (0, any free port, is never
    shared); ``ConfigError`` if they differ in host or share an input address."""
    by_port: dict[int, list[tuple[str, OscConfig]]] = {}
    for name, config in resolved:
        if config.osc.listen_port != 0:
            by_port.setdefault(config.osc.listen_port, []).append((name, config.osc))
    shared: dict[str, OscPort] = {}
    for port, members in by_port.items():
        if len(members) < 2:
            continue
        (first, osc), seen = members[0], {members[0][1].input_address: members[0][0]}
        for name, other in members[1:]:
            if other.listen_host != osc.listen_host:
                raise ConfigError(
                    f"instruments {first!r} and {name!r} share port {port} but listen on "
                    f"{osc.listen_host} and {other.listen_host} (give them one listen_host)"
                )
            if other.input_address in seen:
                raise ConfigError(
                    f"instruments {seen[other.input_address]!r} and {name!r} both listen on port "
                    f"{port} at {other.input_address} (give each its own input_address, e.g. "
                    f"/{name}/interface, or its own listen_port)"
                )
            seen[other.input_address] = name
        udp = OscPort(osc.listen_host, port)
        shared.update((name, udp) for name, _ in members)
    return shared


def _runtimes(
    resolved: Sequence[tuple[str, RunConfig]], batch: set[str], batcher: StepBatcher
) -> dict[str, Voice]:
    """Load each model file once; instruments naming the same file share its model, each with a
    voice of its own.

    Where two or more sharers have ``batch`` on, theirs are ``BatchedVoice``s on ``batcher``.
    """
    groups: dict[Path, list[tuple[str, int | None]]] = {}
    for name, config in resolved:
        if config.model.file is not None:
            groups.setdefault(config.model.file.resolve(), []).append((name, config.model.seed))
    runtimes: dict[str, Voice] = {}
    for path, members in groups.items():
        model = load(path)
        together = sum(m[0] in batch for m in members) > 1
        for name, seed in members:
            voice = model.voice(np.random.default_rng(seed))
            runtimes[name] = BatchedVoice(voice, batcher) if together and name in batch else voice
    return runtimes


def _osc_ends(
    config: RunConfig, runtime: Voice | None, batcher: StepBatcher, shared: OscPort | None
) -> tuple[OscSource, OscSink]:
    """An instrument's OSC input (batching when its voice is batched) and output."""
    osc = config.osc
    refuse_feedback(osc.listen_host, osc.listen_port, osc.send_host, osc.send_port)
    routes = osc_routes(config)
    if isinstance(runtime, BatchedVoice):
        source: OscSource = BatchingOscSource(
            osc.listen_host, osc.listen_port, routes, batcher, shared
        )
    else:
        source = OscSource(osc.listen_host, osc.listen_port, routes, shared)
    return source, OscSink(osc.send_host, osc.send_port, osc.output_address, osc.moved)


def _transports(
    config: RunConfig, dimensions: dict[str, int | None], ports: MidiPorts | None
) -> dict[str, Transports]:
    """The MIDI, serial and WebSocket transports of each instrument (one ``shared`` table for
    the whole run, so a MIDI port several instruments name is opened once)."""
    built: dict[str, Transports] = {}
    shared: dict[str, Any] = {} if ports is None else {"midi": ports}
    for sections in transport_sections(config):
        name = sections.instrument or next(iter(dimensions))
        built[name] = build_transports(
            *sections.sections.values(),
            controls=controls_of(dimensions[name]),
            shared=shared,
            control_from=config.osc.control_sources,
        )
    return built


def _only(name: str, listener: Listener) -> Listener:
    """``listener``, hearing only instrument ``name``'s events."""

    def heard(instrument: str, event: Event) -> None:
        if instrument == name:
            listener(instrument, event)

    return heard


def _links(instruments: Sequence[InstrumentConfig]) -> list[tuple[str, str, str]]:
    links = []
    for inst in instruments:
        for entry in inst.listen_to:
            speaker, kind = listen_spec(entry, f"instrument.{inst.name}")
            links.append((speaker, inst.name, kind))
    return links


def build_engine(
    config: RunConfig,
    clock: Clock | None = None,
    loader: ModelLoader | None = None,
    ports: MidiPorts | None = None,
    services: ServiceMaker | None = None,
) -> Session:
    """Wire the run ``config`` describes into one engine (see the module docstring); ``ports``:
    the MIDI ports to use, a new set on the configured backend if not given; ``services``: what
    runs beside the instruments (``foretell run --learn``: a learner), made from them."""
    clock = clock or LoopClock()
    loader = loader or LoaderThread()
    resolved = _resolved(config)
    shared = _shared_ports(resolved)
    transport_sections(config)  # a transport section's mistakes, before any model is loaded
    batcher = StepBatcher(clock)
    runtimes = _runtimes(resolved, {i.name for i in config.instrument if i.batch}, batcher)
    dimensions = {name: _dimension(rc, runtimes.get(name)) for name, rc in resolved}
    transports = _transports(config, dimensions, ports)
    scheduler = Scheduler(clock, config.interaction.late_limit)
    sources: dict[str, OscSource] = {}
    outputs: dict[str, OscSink] = {}
    instruments: list[Instrument] = []
    everything = Transports()
    listeners = Listeners(  # built first: each instrument is built telling it
        [_only(name, heard) for name, _ in resolved for heard in _echoes(transports, name)]
    )
    for name, rc in resolved:
        runtime = runtimes.get(name)
        sources[name], outputs[name] = _osc_ends(rc, runtime, batcher, shared.get(name))
        own = transports.get(name, Transports())
        meta = {"instrument": name} if config.instrument else {}
        sinks = [outputs[name], *own.sinks]
        instruments.append(
            build_instrument(name, rc, clock, scheduler, sinks, runtime, loader, listeners, **meta)
        )
        everything.add(own, name if config.instrument else None)
    listening = _listening(clock, instruments, config.instrument)
    if listening is not None:
        listeners.add(listening.on_event)
    engine = Engine(
        clock,
        scheduler,
        instruments,
        [(s, n) for n, s in sources.items()]
        + [(s, n) for n, own in transports.items() for s in own.sources],
        [*outputs.values(), *everything.sinks],
        listeners,
        [] if services is None else services(instruments),
        optional=everything,
        lag=LoopLag(clock) if isinstance(clock, LoopClock) else None,
    )
    return Session(config, engine, sources, outputs, everything, listening, batcher)


def _echoes(transports: dict[str, Transports], name: str) -> list[Listener]:
    """The listeners the instrument ``name``'s own transports bring (a WebSocket's echo)."""
    own = transports.get(name)
    return [] if own is None else list(own.listeners)


def _listening(
    clock: Clock, instruments: Sequence[Instrument], configs: Sequence[InstrumentConfig]
) -> CrossListening | None:
    """The router of the ``listen_to`` links between instruments, if any."""
    links = _links(configs)
    if not links:
        return None
    try:
        return CrossListening(clock, {inst.name: inst for inst in instruments}, links)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
