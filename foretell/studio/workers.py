"""Child processes for the studio's file work: scanning takes, plots, datasets, uploads.

Reading a million-row take or building a dataset is CPU work in Python; on a thread it holds the
GIL and the show's loop waits for it (an answer 946 ms late, measured). ``Workers`` runs such a
function in a pool of ``spawn``-ed child processes at a lower CPU priority (``nice``
``WORKER_NICE``: short jobs that must still finish on a busy machine, where training's
``SCHED_IDLE`` could starve them), so the studio's server thread only waits on a pipe.

Each child starts a session of its own. Where the kernel groups processes by session for CPU
time (``CONFIG_SCHED_AUTOGROUP``, on in most distributions' kernels), a child in the show's
session is charged to the show's group: ``nice`` only shares the group's time out among its
members, so while plots ran the show's thread waited for a core behind the machine's other
sessions (docs/performance.md, bench stall). In a session of its own the child's time is its own
group's, and that group is niced too (``/proc/self/autogroup``) where the kernel lets it.

A child in a session of its own is not ended by what ends the studio's session (its terminal
closing), and nothing ends a child whose parent was killed (``kill -9``, the kernel's OOM killer):
each asks the kernel for ``SIGTERM`` when the thread that started it ends (``PR_SET_PDEATHSIG``;
the studio starts them from its server thread, which lives as long as the studio), and ends at
once if its parent died before it asked.

The pool has one process fewer than the cores this process may run on (at least one): a core is
always left for the show's thread. With a child on every core, the show's thread woke behind a
child's time slice (up to a scheduler tick) whenever it found no core idle, and beside eight
plots on two cores a p99 above 5 ms in about half the windows; with one child, under 1 ms in
every window (docs/performance.md, bench stall).

The functions and their arguments must pickle; a ``StudioError`` raised in a child comes back
as one (its status kept). The pool starts on first use and is shut down with the studio.

This module runs functions; it does not know what they do (``takes``, ``datasets``, ``models``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar, cast

from foretell.studio.errors import StudioError

T = TypeVar("T")
WORKER_NICE = 10
AUTOGROUP = "/proc/self/autogroup"  # the CPU group of this process's session (Linux)
AUTOGROUP_NICE = 5  # the workers' group against the show's and the machine's other sessions
SHOW_CORES = 1  # cores the pool leaves to the show
CLOSE_WAIT_S = 5.0  # how long closing waits for the pool's manager thread
PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent thread ends


def _worker_setup(parent: int) -> None:
    """In the child: ended with ``parent`` (see the module docstring), Ctrl-C ignored (it reaches
    the terminal's whole process group; the studio stops its workers itself), a session of its
    own, the normal policy (a real-time show's children inherit its policy), then ``nice
    WORKER_NICE``."""
    _end_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _own_cpu_group()
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError, AttributeError):
        os.nice(WORKER_NICE)


def _end_with(parent: int) -> None:
    """``SIGTERM`` to this process when the thread of ``parent`` that started it ends (Linux);
    ended now if ``parent`` is gone already (this process was handed to another)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _own_cpu_group() -> None:
    """A new session, so a CPU group apart from the show's where the kernel groups by session,
    that group at ``AUTOGROUP_NICE`` (nothing where the kernel has no such groups)."""
    with contextlib.suppress(OSError):
        os.setsid()
    with contextlib.suppress(OSError), open(AUTOGROUP, "w", encoding="ascii") as group:
        group.write(f"{AUTOGROUP_NICE}\n")


def worker_count() -> int:
    """The pool's size: the cores this process may run on, less ``SHOW_CORES``, at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - SHOW_CORES)


class Workers:
    """A pool of ``processes`` child processes (``worker_count()``) for the studio's heavy
    file work."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = worker_count() if processes is None else processes
        self._pool: ProcessPoolExecutor | None = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_setup,
                initargs=(os.getpid(),),
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
        """Stop the children: queued work is dropped, running work ended (``SIGTERM``, as the
        studio's end would send them), and the pool's manager thread waited for (at most
        ``CLOSE_WAIT_S``, off the loop).

        Waiting for that thread works around a race in CPython 3.11's exit hook
        (``concurrent.futures.process._python_exit``): it writes to the thread's wake-up pipe
        while the thread, seeing its children gone, may be closing it, and the studio's last
        line was a traceback ("Bad file descriptor", seen in CI)."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        # private, what shutdown(wait=False) drops (typeshed gives it the wake-up's type)
        manager = cast("threading.Thread | None", pool._executor_manager_thread)
        children = list((pool._processes or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for child in children:
            with contextlib.suppress(OSError, ValueError):
                child.terminate()
        if manager is not None:
            await asyncio.to_thread(manager.join, CLOSE_WAIT_S)
