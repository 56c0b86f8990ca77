"""Child processes for the studio's file work: scanning takes, plots, datasets, uploads.

Reading a million-row take or building a dataset is CPU work in Python; on a thread it holds the
GIL and the show's loop waits for it (an answer 946 ms late, measured). ``Workers`` runs such a
function in a pool of ``spawn``-ed child processes at a lower CPU priority (``nice``
``WORKER_NICE``: short jobs that must still finish on a busy machine, where training's
``SCHED_IDLE`` could starve them), so the studio's server thread only waits on a pipe. The
functions and their arguments must pickle; a ``StudioError`` raised in a child comes back as one
(its status kept). The pool starts on first use and is shut down with the studio.

This module runs functions; it does not know what they do (``takes``, ``datasets``, ``models``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from foretell.studio.errors import StudioError

T = TypeVar("T")
WORKER_NICE = 10
PROCESSES = 2


def _worker_setup() -> None:
    """In the child: Ctrl-C ignored (it reaches the terminal's whole process group; the studio
    stops its workers itself), the normal policy (a real-time show's children inherit its
    policy), then ``nice WORKER_NICE``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICE)


class Workers:
    """A pool of ``processes`` child processes for the studio's heavy file work."""

    def __init__(self, processes: int = PROCESSES) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_setup,
            )
        return self._pool

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in a child; its result, or what it raised."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._started(), fn, *args)
        except BrokenProcessPool:
            self._pool = None  # a child was killed (out of memory): the next call starts anew
            raise StudioError("the studio's worker process ended unexpectedly", 500) from None

    async def aclose(self) -> None:
        """Stop the children (queued work is dropped; running work is not waited for)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
