"""The show's loop, reached from other threads: the one asyncio loop the engine runs on.

Instruments, the scheduler, sources and sinks run on one loop that nothing else runs on. Servers
(the dashboard, the studio) run on a thread and loop of their own and reach the engine only
through ``ShowLoop``: ``await show(fn, *args)`` runs ``fn`` on the show's loop, between events,
and hands its result (or exception) back to the caller's loop without blocking either;
``show.soon(fn, *args)`` queues it without waiting (teardown, where the answer does not
matter). Keep ``fn`` short: it runs where the performance runs.

The other threads of the show's process (the server's, the model loader's, MIDI and serial
readers) share the GIL with the show's thread; Python makes a thread that wants it wait up to
its switch interval (5 ms by default) before the holder must let go, and a round trip crosses
several blocking calls, each a chance to wait again. ``prompt_gil_handover()`` shortens that
wait to ``GIL_SWITCH_S`` for the whole process (call it once, where the show starts); a C call
that holds the GIL throughout (a big ``json.dumps``) is not shortened: keep those off the
process (``foretell.studio.workers``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
GIL_SWITCH_S = 0.0005  # how long the show's thread may wait for another thread to let go


def prompt_gil_handover(interval_s: float = GIL_SWITCH_S) -> None:
    """Make every thread of this process let go of the GIL within ``interval_s`` when another
    (the show's) waits for it (see the module docstring)."""
    sys.setswitchinterval(interval_s)


class ShowLoop:
    """Calls into ``loop`` (the engine's) from any thread (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    @classmethod
    def here(cls) -> ShowLoop:
        """The running loop as the show's (call on the engine's loop)."""
        return cls(asyncio.get_running_loop())

    async def __call__(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` run on the show's loop; awaited on the caller's loop."""
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is self.loop:
                return fn(*args)
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not done.set_running_or_notify_cancel():
                return
            try:
                done.set_result(fn(*args))
            except BaseException as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return await asyncio.wrap_future(done)

    def soon(self, fn: Callable[..., object], *args: object) -> None:
        """Queue ``fn(*args)`` on the show's loop; nothing if that loop has closed."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(fn, *args)
