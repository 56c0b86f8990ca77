"""How many torch threads training should use: the CPUs actually free to this process.

``os.cpu_count()`` counts the machine, not what this process may use or what is idle. OpenMP
threads spin while they wait for each other, so one thread more than there are free cores makes
every step wait for a thread the scheduler has parked behind another process: beside one busy
process, two threads on two cores are several times slower than one.

The policy: one thread where a step's products are too small to share, that is below
``MIN_WORK_FOR_THREADS`` LSTM units squared times windows per batch (an LSTM step's products
grow with the square of its units; below that a second thread costs more in waits than it
saves in arithmetic: the default size, 64 units in batches of 32, trains on one thread, and so
gives the same model whatever the machine's load); from there up, the CPUs in this process's
affinity mask, less the other processes that want a CPU right now. The runs that set the
threshold: docs/evaluation/choices.md, "Threads".
"Right now" is the kernel's count of runnable tasks (``/proc/loadavg``'s fourth field,
sampled a few times over ~50 ms, median, less this process's own thread), not the 1-minute load
average, which lags a process started seconds ago by most of a minute. Where that count is
unavailable the 1-minute load average stands in. Never fewer than one thread.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

LOADAVG = Path("/proc/loadavg")
MIN_WORK_FOR_THREADS = 128 * 128 * 32  # units^2 x batch from which a second thread pays
MIN_SEGMENT_WORK = 2048  # units x whole segments from which a scoring pass shares threads
SAMPLES, SAMPLE_GAP_S = 5, 0.01


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def runnable_now(loadavg: Path = LOADAVG) -> float | None:
    """The kernel's count of runnable tasks (this one included), or ``None`` if unreadable."""
    try:
        running = loadavg.read_text().split()[3].split("/")[0]
        return float(running)
    except (OSError, IndexError, ValueError):
        return None


def other_demand(loadavg: Path = LOADAVG) -> float:
    """How many CPUs other processes want now (median of a few samples; load average fallback)."""
    samples = []
    for index in range(SAMPLES):
        count = runnable_now(loadavg)
        if count is None:
            break
        samples.append(count - 1)  # this thread is runnable while it reads
        if index < SAMPLES - 1:
            time.sleep(SAMPLE_GAP_S)
    if samples:
        return max(0.0, statistics.median(samples))
    try:
        return max(0.0, os.getloadavg()[0])
    except OSError:
        return 0.0


def free_cpus(loadavg: Path = LOADAVG) -> int:
    """Usable CPUs no other process is asking for, at least one."""
    return max(1, usable_cpus() - round(other_demand(loadavg)))


def step_shares_threads(units: int, batch_size: int) -> bool:
    """Whether a training step of ``units`` LSTM units over ``batch_size`` windows is big enough
    to share among threads (``MIN_WORK_FOR_THREADS`` units squared times windows)."""
    return units * units * batch_size >= MIN_WORK_FOR_THREADS


def training_threads(
    requested: int | None = None,
    units: int = 64,
    batch_size: int = 32,
    loadavg: Path = LOADAVG,
) -> int:
    """``requested`` if given (at least 1); else one thread below ``MIN_WORK_FOR_THREADS``
    units squared times windows per batch, one per free CPU from there up."""
    if requested is not None:
        return max(1, requested)
    if not step_shares_threads(units, batch_size):
        return 1
    return free_cpus(loadavg)


def threads_for_whole_segments(units: int, segments: int, current: int) -> int:
    """Threads for a pass over ``segments`` whole segments at once (validation, scoring): one
    below ``MIN_SEGMENT_WORK`` units times segments, else ``current``.

    Such a pass steps every segment from its first event to the longest one's last, so each of
    its thousands of time steps is a product of a few rows, too small to share: a second thread
    only adds a wait at every step (docs/evaluation/choices.md, "Threads")."""
    return 1 if units * segments < MIN_SEGMENT_WORK else max(1, current)
