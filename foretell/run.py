"""Run foretell from Python: ``run(config) -> RunSummary``, what ``foretell run`` does.

``run`` builds the engine a ``RunConfig`` describes (``foretell.perform.build``), starts it,
serves the dashboard when given a ``Page`` (and the studio's routes beside it when the page
carries them), plays until it is stopped, stops everything and returns a ``RunSummary``: each
instrument's counts (inputs, answers, model events, rejections), its log, how each OSC port
fared and the other transports' counters. ``foretell run``, ``foretell studio``, the demo and
tests call it; the command line only parses, builds the config, calls it and prints.

It stops on Ctrl-C or SIGTERM when called on the main thread, or when ``Running.stop()`` is
called (from any thread: ``on_start`` hands over the ``Running``). Nothing here prints:
``Running.lines()`` and ``RunSummary.lines()`` are the lines the command line shows.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from foretell.config import RunConfig
from foretell.perform.build import LoaderThread, ServiceMaker, Session, build_engine
from foretell.perform.show_loop import prompt_gil_handover

if TYPE_CHECKING:
    from foretell.config.learn import LearnConfig
    from foretell.dashboard.server import Dashboard
    from foretell.perform.engine import Engine, Service
    from foretell.perform.instrument import Instrument


class PageParts(Protocol):
    """More of the page's app, served beside the dashboard (the studio's API and page)."""

    def routes(self) -> Sequence[Any]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Page:
    """The dashboard to serve beside the run: where, which models it may load, and ``parts``
    (made from the engine once it runs) served with it under ``path`` as ``name``."""

    host: str = "127.0.0.1"
    port: int = 8765
    models_dir: Path | None = None
    parts: Callable[[Engine], PageParts] | None = None
    name: str = "dashboard"
    path: str = ""
    moved_by: str | None = None  # the caller's way to move it, named when its port is taken


@dataclass(frozen=True)
class InstrumentSummary:
    """What one instrument did: the counts of its stop line and where its log went."""

    name: str
    inputs: int
    answers: int  # model events answering an input (filter)
    generated: int  # model events in their own time (call-and-response, battle)
    stale: int
    rejected: dict[str, int]
    not_logged: int
    log_path: str | None
    timing_ms: dict[str, float | None]  # |sent - due| of its scheduled events

    def line(self, ensemble: bool) -> str:
        rejected = ", ".join(f"{k} {v}" for k, v in self.rejected.items()) or "none"
        line = (
            f"stopped after {self.inputs} inputs and {self.answers + self.generated} model events "
            f"({self.answers} answering each input, {self.generated} in its own time, "
            f"{self.stale} stale); rejected: {rejected}"
        )
        if self.not_logged:
            line += f"; {self.not_logged} rows not logged (the log's disk refused them)"
        if ensemble:
            line = f"instrument {self.name}: {line}; log {self.log_path or 'off'}"
        return f"foretell: {line}"


@dataclass(frozen=True)
class PortSummary:
    """How one OSC port fared: datagrams read and its slowest wake-up (seconds)."""

    host: str
    port: int
    received: int
    wakeups: int
    slowest: float
    slowest_cpu: float
    slow: int  # wake-ups over 5 ms

    def line(self) -> str:
        return (
            f"foretell: OSC on {self.host}:{self.port}: {self.received} datagrams in "
            f"{self.wakeups} wake-ups, slowest {self.slowest * 1e3:.2f} ms "
            f"({self.slowest_cpu * 1e3:.2f} ms of CPU; {self.slow} over 5 ms)"
        )


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for its caller (``lines()``: what ``foretell run`` prints at exit)."""

    instruments: tuple[InstrumentSummary, ...]
    ensemble: bool
    osc_ports: tuple[PortSummary, ...]
    loop_lag: dict[str, float | int] | None  # how late the show's loop woke (ms; None: unknown)
    transports: dict[str, int] = field(default_factory=dict)

    @property
    def inputs(self) -> int:
        return sum(i.inputs for i in self.instruments)

    @property
    def answers(self) -> int:
        return sum(i.answers for i in self.instruments)

    @property
    def generated(self) -> int:
        return sum(i.generated for i in self.instruments)

    @property
    def rejected(self) -> int:
        return sum(sum(i.rejected.values()) for i in self.instruments)

    @property
    def log_path(self) -> str | None:
        """The first instrument's log (``None``: not logged)."""
        return self.instruments[0].log_path

    def lines(self) -> list[str]:
        lines = [inst.line(self.ensemble) for inst in self.instruments]
        if self.loop_lag is not None:
            late = self.loop_lag
            lines.append(
                f"foretell: the show's loop woke up to {late['max_ms']:.2f} ms late (p99 "
                f"{late['p99_ms']:.2f} ms, {late['over_5ms']} of {late['checks']} checks over "
                "5 ms; what an input waited before it was read)"
            )
        lines += [port.line() for port in self.osc_ports]
        if self.transports:
            counts = ", ".join(f"{k} {v}" for k, v in self.transports.items())
            lines.append(f"foretell: transports: {counts}")
        return lines


class Running:
    """A run that has started: its ``session`` (engine, ports), what to say about it
    (``lines()``) and ``stop()``, which any thread may call."""

    def __init__(
        self,
        session: Session,
        loop: asyncio.AbstractEventLoop,
        stopping: asyncio.Event,
        learning: str | None,
        banner: Sequence[str],
    ) -> None:
        self.session = session
        self._loop = loop
        self._stopping = stopping
        self._learning = learning
        self._banner = tuple(banner)

    @property
    def osc_address(self) -> tuple[str, int]:
        """Where the first instrument listens for OSC (the real port when configured with 0)."""
        return self.session.osc_in.address

    def stop(self) -> None:
        """End the run (thread-safe); ``run`` returns its summary."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)

    def lines(self) -> list[str]:
        """What ``foretell run`` says once it plays: learning, the page, each instrument's
        addresses (or the one instrument's), who may steer, the other transports."""
        session, config = self.session, self.session.config
        lines = [f"foretell: {self._learning}"] if self._learning else []
        lines += self._banner
        lines += _instrument_lines(session) or [_started_line(session)]
        steer = config.osc.control_sources.describe()
        lines.append(f"foretell: control verbs (/foretell/*, /impsy/*) taken from {steer}")
        if session.transports.describe():
            lines.append("foretell: also " + "; ".join(session.transports.describe()))
        return lines


def run(
    config: RunConfig,
    page: Page | None = None,
    learn: LearnConfig | None = None,
    on_start: Callable[[Running], None] | None = None,
) -> RunSummary:
    """Play ``config`` until stopped (see the module docstring); ``page``: serve the dashboard;
    ``learn``: fine-tune the first instrument's model on the playing; ``on_start``: called on
    the run's loop once everything is open."""
    return asyncio.run(run_async(config, page, learn, on_start))


async def run_async(
    config: RunConfig,
    page: Page | None = None,
    learn: LearnConfig | None = None,
    on_start: Callable[[Running], None] | None = None,
) -> RunSummary:
    """``run`` on the running loop (it shortens the process's GIL switch interval:
    ``foretell.perform.show_loop.prompt_gil_handover``)."""
    prompt_gil_handover()  # other threads wait for the show's, not it for them
    session = build_engine(
        config,
        loader=LoaderThread().start(),  # its thread started here, not at the first load
        services=None if learn is None else _learner(learn),
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
    session.engine.start()
    learning = None
    if learn is not None and session.engine.services[0].status()["state"] != "unavailable":
        learning = f"learning {learn.schedule.describe()} into {learn.store}"
    dashboard = None
    try:
        banner: list[str] = []
        if page is not None:
            dashboard = _serve(page, session)
            banner = dashboard.banner(page.name, page.path)
        gc.freeze()  # everything built so far is long-lived: keep it out of collections
        if on_start is not None:
            on_start(Running(session, loop, stopping, learning, banner))
        await stopping.wait()
    finally:
        if dashboard is not None:
            await dashboard.aclose()
        session.engine.stop()
    return summarise(session)


def _learner(learn: LearnConfig) -> ServiceMaker:
    """A learner beside the run's first instrument (``foretell run --learn``)."""
    from foretell.learn.coordinator import Learner

    def make(instruments: Sequence[Instrument]) -> list[Service]:
        return [Learner(learn, instruments[0], instruments[0].clock)]

    return make


def _serve(page: Page, session: Session) -> Dashboard:
    """The dashboard (and ``page.parts``) on this loop, for ``session``'s engine."""
    from foretell.dashboard.server import DashboardError, serve_dashboard

    engine, config = session.engine, session.config
    parts = None if page.parts is None else page.parts(engine)
    close: Callable[[], Awaitable[None]] | None = None if parts is None else parts.aclose
    try:
        return serve_dashboard(
            engine,
            page.host,
            page.port,
            page.models_dir,
            names=config.dashboard.names,
            presets=config.dashboard.presets(),
            routes=() if parts is None else parts.routes(),
            on_close=close,
            control_from=config.osc.control_sources,
        )
    except DashboardError as exc:
        if page.moved_by is None:
            raise
        raise DashboardError(f"{exc} with {page.moved_by}") from None


def summarise(session: Session) -> RunSummary:
    """What ``session``'s run did (call once its engine has stopped)."""
    from foretell.io.osc import OscSource

    instruments = []
    for inst in session.engine.instruments.values():
        snap = inst.snapshot()
        instruments.append(
            InstrumentSummary(
                snap.name,
                snap.inputs,
                snap.answers,
                snap.generated,
                snap.stale,
                dict(snap.rejected),
                snap.not_logged,
                snap.log_path,
                dict(snap.timing_ms),
            )
        )
    engine = session.engine
    udps = {id(s.udp): s.udp for s, _ in engine.sources if isinstance(s, OscSource)}
    ports = tuple(
        PortSummary(
            u.host,
            u.port,
            u.received,
            u.wakeups,
            u.slowest_wakeup,
            u.slowest_wakeup_cpu,
            u.slow_wakeups,
        )
        for u in udps.values()
    )
    lag = engine.lag.summary() if engine.lag is not None and engine.lag.checks else None
    ensemble = bool(session.config.instrument)
    return RunSummary(tuple(instruments), ensemble, ports, lag, session.transports.counters())


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


def _started_line(session: Session) -> str:
    inst, osc = session.instrument, session.config.osc
    host, port = session.osc_in.address
    return (
        f"foretell: listening for OSC on {host}:{port}, sending {osc.output_address} to "
        f"{osc.send_host}:{osc.send_port}; mode {inst.settings.mode}; model "
        f"{session.config.model.file or 'none'}; log {inst.log.path if inst.log else 'off'}"
    )
