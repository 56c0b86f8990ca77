"""Run a built engine: on the caller's loop, or on a thread of its own.

``run_until(session, stop)`` runs a ``build_engine`` session on the current loop (``foretell
run``). ``start_engine(config)`` builds and runs one in-process on its own thread and returns a
handle (addresses, snapshot, command, stop): what the demo, tests and benchmarks use.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Self, TypeVar

from foretell.commands import Command
from foretell.config import RunConfig
from foretell.io.transports import Transports
from foretell.perform.build import Session, build_engine
from foretell.perform.engine import EngineSnapshot

if TYPE_CHECKING:
    from foretell.io.midi_ports import MidiPorts  # mido: imported only for a MIDI run

T = TypeVar("T")


async def run_until(session: Session, stop: asyncio.Event) -> None:
    """Start the session's engine on this loop, run until ``stop`` is set, then stop it."""
    session.engine.start()
    try:
        await stop.wait()
    finally:
        session.engine.stop()


class EngineHandle:
    """A run built from ``config`` on its own thread and asyncio loop; every method is
    thread-safe (``ports``: the MIDI ports to use, as ``build_engine`` takes them)."""

    def __init__(self, config: RunConfig, ports: MidiPorts | None = None) -> None:
        self.config = config
        self.ports = ports
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

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.session = build_engine(self.config, ports=self.ports)
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
        """Where the first instrument listens for OSC (the real port when configured with 0)."""
        assert self.session is not None
        return self.session.osc_in.address

    def osc_address_of(self, name: str) -> tuple[str, int]:
        """Where instrument ``name`` listens for OSC (the real port when configured with 0)."""
        assert self.session is not None
        return self.session.sources[name].address

    @property
    def transports(self) -> Transports:
        """The run's MIDI, serial and WebSocket transports."""
        assert self.session is not None
        return self.session.transports

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


def start_engine(config: RunConfig, ports: MidiPorts | None = None) -> EngineHandle:
    """Start the run ``config`` describes, in-process on its own thread (``handle.stop()``)."""
    return EngineHandle(config, ports).start()
