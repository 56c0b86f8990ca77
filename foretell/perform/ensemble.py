"""Build an ensemble: several instruments in one engine, from ``[instrument.NAME]`` sections.

``build_ensemble(config)`` resolves each ``InstrumentConfig`` against the top-level sections
(``resolve``), loads each model file once (instruments that name the same file share its weights,
fused once, and keep their own LSTM state and generator), and wires every instrument to its own
OSC input (its port, or one shared with others told apart by input address; live control
``/foretell/NAME/VERB`` on that port), OSC output and log; ``attach_configured`` adds each one's
MIDI, serial and WebSocket (``foretell.ensemble_config.transport_sections``). ``listen_to`` links
become a ``CrossListening`` router with its loop guard. It opens no socket or file; the engine's
``start()`` does. ``EnsembleHandle`` runs it on a thread, like ``EngineHandle``. Instruments that
share a model file (and keep ``batch`` on) step together per loop wake-up
(``foretell.perform.batching`` says exactly what is batched).

Defaults an instrument inherits beyond the shadowed sections: it listens on ``[osc] listen_port``
plus its index (port 0 stays 0: any free port), sends ``/NAME{[osc] output_address}`` (so one
receiver can tell the instruments apart), logs to ``[log] dir / NAME``, and, when ``[model] seed``
is set, seeds its sampler with seed + index (instruments sharing a model do not play in unison).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foretell.clock import Clock, LoopClock
from foretell.config import OscConfig, RunConfig, override
from foretell.ensemble_config import InstrumentConfig, listen_spec, transport_sections
from foretell.errors import ConfigError
from foretell.io.osc import OscPort, OscSink, OscSource, refuse_feedback
from foretell.io.transports import Transports, attach_configured
from foretell.model.batched import shared_runtimes
from foretell.model.fileformat import ModelFile, load_model
from foretell.model.runtime import Runtime
from foretell.modes import get_mode
from foretell.perform.batching import BatchedRuntime, BatchingOscSource, StepBatcher
from foretell.perform.engine import Engine
from foretell.perform.instrument import Instrument, ModelLoader
from foretell.perform.listening import CrossListening
from foretell.perform.scheduler import Scheduler
from foretell.perform.session import (
    EngineHandle,
    Session,
    build_instrument,
    load_in_executor,
    osc_routes,
)


def _pick(value: object, default: object) -> object:
    return default if value is None else value


def resolve(config: RunConfig, inst: InstrumentConfig, index: int) -> RunConfig:
    """The single-instrument ``RunConfig`` of ``inst`` (its keys over the top-level sections)."""
    seed = inst.seed
    if seed is None and config.model.seed is not None:
        seed = config.model.seed + index
    out = dataclasses.replace(config, instrument=())
    out = override(
        out, "model", file=inst.model, seed=seed, pi_temp=inst.pi_temp, sigma_temp=inst.sigma_temp
    )
    out = override(
        out,
        "interaction",
        mode=inst.mode,
        threshold=inst.threshold,
        timescale=inst.timescale,
        input_thru=inst.input_thru,
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
) -> dict[str, Runtime]:
    """Load each model file once; instruments naming the same file share its weights.

    Where two or more sharers have ``batch`` on, theirs are ``BatchedRuntime``s on ``batcher``.
    """
    groups: dict[Path, list[tuple[str, int | None]]] = {}
    for name, config in resolved:
        if config.model.file is not None:
            groups.setdefault(config.model.file.resolve(), []).append((name, config.model.seed))
    runtimes: dict[str, Runtime] = {}
    for path, members in groups.items():
        model: ModelFile = load_model(path)
        batched = (
            [m for m in members if m[0] in batch] if sum(m[0] in batch for m in members) > 1 else []
        )
        alone = [m for m in members if m not in batched]
        for group, cls in ((batched, BatchedRuntime), (alone, Runtime)):
            rngs = [np.random.default_rng(seed) for _, seed in group]
            for (name, _), runtime in zip(group, shared_runtimes(model, rngs, cls), strict=True):
                if isinstance(runtime, BatchedRuntime):
                    runtime.batcher = batcher
                runtimes[name] = runtime
    return runtimes


@dataclass
class EnsembleSession(Session):
    """An engine of several instruments; ``osc_in``/``osc_out`` are the first instrument's."""

    sources: dict[str, OscSource] = field(default_factory=dict)
    outputs: dict[str, OscSink] = field(default_factory=dict)
    listening: CrossListening | None = None
    batcher: StepBatcher | None = None


def _instrument(
    name: str,
    config: RunConfig,
    clock: Clock,
    scheduler: Scheduler,
    runtime: Runtime | None,
    loader: ModelLoader,
    batcher: StepBatcher,
    shared: OscPort | None,
) -> tuple[Instrument, OscSource, OscSink]:
    osc = config.osc
    refuse_feedback(osc.listen_host, osc.listen_port, osc.send_host, osc.send_port)
    routes = osc_routes(config)
    if isinstance(runtime, BatchedRuntime):
        source: OscSource = BatchingOscSource(
            osc.listen_host, osc.listen_port, routes, batcher, shared
        )
    else:
        source = OscSource(osc.listen_host, osc.listen_port, routes, shared)
    sink = OscSink(osc.send_host, osc.send_port, osc.output_address)
    instrument = build_instrument(
        name, config, clock, scheduler, sink, runtime, loader, instrument=name
    )
    return instrument, source, sink


def _links(instruments: Sequence[InstrumentConfig]) -> list[tuple[str, str, str]]:
    links = []
    for inst in instruments:
        for entry in inst.listen_to:
            speaker, kind = listen_spec(entry, f"instrument.{inst.name}")
            links.append((speaker, inst.name, kind))
    return links


def build_ensemble(
    config: RunConfig, clock: Clock | None = None, loader: ModelLoader = load_in_executor
) -> EnsembleSession:
    """Wire every ``[instrument.NAME]`` into one engine (see the module docstring)."""
    if not config.instrument:
        raise ConfigError("an ensemble needs at least one [instrument.NAME] section")
    clock = clock or LoopClock()
    resolved = [(inst.name, resolve(config, inst, i)) for i, inst in enumerate(config.instrument)]
    if len({name for name, _ in resolved}) != len(resolved):
        raise ConfigError("instrument names must be unique")
    shared = _shared_ports(resolved)
    transport_sections(config)  # a transport section's mistakes, before any model is loaded
    batcher = StepBatcher(clock)
    runtimes = _runtimes(resolved, {i.name for i in config.instrument if i.batch}, batcher)
    scheduler = Scheduler(clock, config.interaction.late_limit)
    built = [
        _instrument(
            name, rc, clock, scheduler, runtimes.get(name), loader, batcher, shared.get(name)
        )
        for name, rc in resolved
    ]
    instruments = [inst for inst, _, _ in built]
    sources = {inst.name: source for inst, source, _ in built}
    outputs = {inst.name: sink for inst, _, sink in built}
    engine = Engine(
        clock, scheduler, instruments, [(s, n) for n, s in sources.items()], list(outputs.values())
    )
    listening = None
    links = _links(config.instrument)
    if links:
        try:
            listening = CrossListening(clock, engine.instruments, links)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        engine.add_listener(listening.on_event)
    first = instruments[0].name
    return EnsembleSession(
        config, engine, sources[first], outputs[first], sources, outputs, listening, batcher
    )


class EnsembleHandle(EngineHandle):
    """An ensemble running on its own thread and loop (see ``EngineHandle``), with the MIDI,
    serial and WebSocket transports its config gives each instrument (``transports``)."""

    session: EnsembleSession | None

    transports: Transports | None = None

    def _build(self, config: RunConfig) -> Session:
        session = build_ensemble(config)
        self.transports = attach_configured(session.engine, config)
        return session

    def osc_address_of(self, name: str) -> tuple[str, int]:
        """Where instrument ``name`` listens for OSC (the real port when configured with 0)."""
        assert self.session is not None
        return self.session.sources[name].address
