"""A short CPU time slice for the show's thread, so that it gets a core as soon as it wakes.

Linux's fair scheduler (EEVDF, 6.6 and later) lets the task on a core run out its time slice
(a few ms) before a task that wakes there may have the core, unless the waking task asks for a
shorter slice than the running one's (``sched_setattr``'s ``sched_runtime``, honoured since
6.12): then it preempts at once. The show's thread sleeps between events and wakes for each
datagram; on a machine whose cores are busy (the studio's workers drawing plots, a compiler, a
training run) it waited up to a tick (4 ms) and more behind them (docs/performance.md, bench
stall). ``prompt_wakeups()`` asks for ``SHOW_SLICE_NS`` for the calling thread: it is no more
CPU, only sooner (each slice is shorter, the show's share the same).

Only for a thread under the normal policy (under ``--realtime``'s ``SCHED_FIFO`` it wakes first
anyway); elsewhere (not Linux, a kernel before 6.12, an architecture without a known system call
number) it does nothing. Threads and processes the thread starts afterwards inherit its slice:
call it once the show's other threads (the server's, the model loader's) are running, so that they
and the children they start (the studio's workers, training) keep the default.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import struct
import sys

SHOW_SLICE_NS = 500_000  # the kernel takes 0.1-100 ms; a typical event's work fits in one
SCHED_SETATTR = {"x86_64": 314, "aarch64": 274, "arm64": 274, "riscv64": 274, "armv7l": 380}
SCHED_ATTR_SIZE = 48  # struct sched_attr as first published (SCHED_ATTR_SIZE_VER0)


def prompt_wakeups(slice_ns: int = SHOW_SLICE_NS) -> bool:
    """Ask for a time slice of ``slice_ns`` for the calling thread (see the module docstring);
    whether the kernel took the request."""
    number = SCHED_SETATTR.get(platform.machine())
    if not sys.platform.startswith("linux") or number is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        if os.sched_getscheduler(0) != os.SCHED_OTHER:
            return False
        nice = os.getpriority(os.PRIO_PROCESS, 0)  # the calling thread's, kept as it is
        attr = struct.pack("IIQiIQQQ", SCHED_ATTR_SIZE, os.SCHED_OTHER, 0, nice, 0, slice_ns, 0, 0)
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.syscall(number, 0, ctypes.create_string_buffer(attr), 0)) == 0
    return False
