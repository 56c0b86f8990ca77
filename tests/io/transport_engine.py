"""A real engine (``build_session``) with extra transports attached, on a loop thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from foretell.config import RunConfig
from foretell.io.transports import Transports, attach
from foretell.perform.session import Session, build_session

T = TypeVar("T")


class EngineThread:
    """Builds and starts the engine on its own loop; ``call`` runs a function there."""

    def __init__(self, config: RunConfig, transports: Transports) -> None:
        self.config, self.transports = config, transports
        self.session: Session | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> EngineThread:
        self._thread.start()
        self._ready.result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None and self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self.loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            self.session = build_session(self.config)
            attach(self.session.engine, self.transports)
            self.session.engine.start()
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            await self._stop.wait()
        finally:
            self.session.engine.stop()
            await asyncio.sleep(0.05)  # let closing connections finish

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        assert self.loop is not None

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)  # type: ignore[no-any-return]

    def snapshot(self) -> Any:
        assert self.session is not None
        return self.call(self.session.engine.snapshot).instruments[0]
