"""Build an engine from a ``RunConfig`` and run it: on the caller's loop, or on a thread of its own.

``build_session(config)`` loads the model (if any) and wires one instrument to an OSC input, an
OSC output and a log; it opens nothing. ``run_until(session, stop)`` runs it on the current loop
(``foretell run``). ``start_engine(config)`` runs it in-process on its own thread and returns a
handle (address, snapshot, command, stop): what the demo, tests and benchmarks use.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

from foretell.clock import Clock, LoopClock
from foretell.commands import Command
from foretell.config import RunConfig
from foretell.data.log import LogWriter
from foretell.errors import ConfigError, ControlError
from foretell.io.base import Sink
from foretell.io.osc import OscRoutes, OscSink, OscSource, refuse_feedback
from foretell.model.constraints import Constraints
from foretell.model.runtime import Runtime, load_runtime
from foretell.modes import get_mode
from foretell.perform import steering
from foretell.perform.engine import Engine, EngineSnapshot
from foretell.perform.instrument import Instrument, ModelLoader, Settings
from foretell.perform.scheduler import Scheduler

T = TypeVar("T")


def load_in_executor(path: Path, done: Callable[[Runtime | BaseException], None]) -> None:
    """A ``ModelLoader`` that reads the file on a worker thread and calls ``done`` on the loop."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, load_runtime, path)

    def finished(f: asyncio.Future[Runtime]) -> None:
        if f.cancelled():
            return
        error = f.exception()
        done(error if error is not None else f.result())

    future.add_done_callback(finished)


def settings_from(config: RunConfig) -> Settings:
    i, m = config.interaction, config.model
    constraints = Constraints()
    for command in i.steering_commands():
        constraints = steering.apply(constraints, command, None)  # type: ignore[arg-type]
    return Settings(
        constraints=constraints,
        condition_on=i.condition_on,
        mode=get_mode(i.mode).name,
        pi_temp=m.pi_temp,
        sigma_temp=m.sigma_temp,
        timescale=i.timescale,
        threshold=i.threshold,
        input_thru=i.input_thru,
        out_of_range=i.out_of_range,
        log_predictions=config.log.predictions,
    )


def _jsonable(config: RunConfig) -> dict[str, Any]:
    return {
        name: {k: str(v) if isinstance(v, Path) else v for k, v in section.items()}
        for name, section in dataclasses.asdict(config).items()
        if isinstance(section, dict)  # not the [instrument.NAME] tuple (logged per instrument)
    }


@dataclass
class Session:
    """An engine wired from a config, with its OSC ends at hand."""

    config: RunConfig
    engine: Engine
    osc_in: OscSource
    osc_out: OscSink

    @property
    def instrument(self) -> Instrument:
        return self.engine.instrument()


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


def build_instrument(
    name: str,
    config: RunConfig,
    clock: Clock,
    scheduler: Scheduler,
    sink: Sink,
    runtime: Runtime | None,
    loader: ModelLoader,
    **log_meta: object,
) -> Instrument:
    """One instrument as ``config`` says (settings, model, log file opened at start)."""
    dimension = runtime.spec.dimension if runtime is not None else config.interaction.dimension
    log = None
    if config.log.enabled and dimension is None:
        raise ConfigError(
            f"{'instrument ' + name + ': ' if name != 'main' else ''}logging without a model needs "
            "the instrument's size: give --controls N (or --dimension N+1, or [interaction] "
            "dimension), or a model"
        )
    _check_steering(config, None if dimension is None else dimension - 1)
    if config.log.enabled:
        meta = {"config": _jsonable(config), **log_meta}
        log = LogWriter(config.log.dir, dimension, clock, meta)
    return Instrument(
        name,
        settings_from(config),
        clock,
        scheduler,
        [sink],
        runtime=runtime,
        log_writer=log,
        dimension=dimension,
        loader=loader,
        model_name=None if config.model.file is None else str(config.model.file),
        models_dir=config.models_dir(),
    )


def build_session(
    config: RunConfig, clock: Clock | None = None, loader: ModelLoader = load_in_executor
) -> Session:
    """Load the model (if configured) and wire one OSC instrument; opens no socket or file."""
    clock = clock or LoopClock()
    runtime = None
    if config.model.file is not None:
        runtime = load_runtime(config.model.file, config.model.seed)
    scheduler = Scheduler(clock, config.interaction.late_limit)
    osc = config.osc
    refuse_feedback(osc.listen_host, osc.listen_port, osc.send_host, osc.send_port)
    osc_in = OscSource(osc.listen_host, osc.listen_port, osc_routes(config))
    osc_out = OscSink(osc.send_host, osc.send_port, osc.output_address)
    instrument = build_instrument("main", config, clock, scheduler, osc_out, runtime, loader)
    engine = Engine(clock, scheduler, [instrument], [(osc_in, "main")], [osc_out])
    return Session(config, engine, osc_in, osc_out)


async def run_until(session: Session, stop: asyncio.Event) -> None:
    """Start the session's engine on this loop, run until ``stop`` is set, then stop it."""
    session.engine.start()
    try:
        await stop.wait()
    finally:
        session.engine.stop()


class EngineHandle:
    """An engine running on its own thread and asyncio loop; every method is thread-safe."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.session: Session | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready: Future[None] = Future()

    def start(self, timeout: float = 10.0) -> Self:
        self._thread = threading.Thread(target=self._main, name="foretell-engine", daemon=True)
        self._thread.start()
        self._ready.result(timeout)  # re-raises a startup error here
        return self

    def _main(self) -> None:
        asyncio.run(self._serve())

    def _build(self, config: RunConfig) -> Session:
        """Wire the session (on the engine's loop); subclasses build other shapes."""
        return build_session(config)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.session = self._build(self.config)
            self.session.engine.start()
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            await self._stop.wait()
        finally:
            self.session.engine.stop()

    @property
    def osc_address(self) -> tuple[str, int]:
        """Where the engine listens for OSC (the real port when configured with port 0)."""
        assert self.session is not None
        return self.session.osc_in.address

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` on the engine's loop and return its result."""
        assert self._loop is not None

        async def run() -> T:
            return fn()

        coroutine: Coroutine[Any, Any, T] = run()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def snapshot(self) -> EngineSnapshot:
        assert self.session is not None
        return self.call(self.session.engine.snapshot)

    def command(self, command: Command, instrument: str | None = None) -> None:
        assert self.session is not None
        engine = self.session.engine
        self.call(lambda: engine.command(command, instrument))

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_engine(config: RunConfig) -> EngineHandle:
    """Start an engine for ``config`` in-process on its own thread; ``handle.stop()`` ends it."""
    return EngineHandle(config).start()
