"""``python -m foretell ...`` children at the lowest CPU priority, for work beside the engine.

The studio trains and scores in child processes, never on the engine's asyncio loop, and each
child runs under ``SCHED_IDLE``: the kernel gives an idle-class task a CPU only when nothing else
wants it, so the engine's loop, waking for an event, preempts training at once. ``nice 19`` (the
fallback where ``SCHED_IDLE`` is refused: not Linux, or a seccomp policy) only shrinks the
child's share, and the engine may still wait out part of a training thread's time slice.

The priority is set in the child itself, by a few lines of Python run before it execs
``python -m foretell`` (same process, same pid), not with ``preexec_fn``, which is unsafe in a
parent with threads (the engine's MIDI and serial readers). Each child leads its own process
group, so a Ctrl-C at the studio's terminal reaches only the studio, which stops its children
itself (a training child would otherwise catch the SIGINT and save a model as it stops).

This module starts and stops children; it neither tracks jobs (``foretell.studio.jobs``) nor reads
what they print.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping
from contextlib import suppress

from foretell.train.config import LARGEST_BATCH
from foretell.train.threads import step_shares_threads, usable_cpus

LOWER_PRIORITY_THEN_EXEC = """\
import os, sys
try:
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
except (AttributeError, OSError):
    os.nice(19)
os.execv(sys.executable, [sys.executable, "-m", "foretell", *sys.argv[1:]])
"""
STOP_GRACE_S = 5.0
ERROR_PREFIX = "foretell: error: "
MAX_ERROR_CHARS = 300


def command(*args: str) -> list[str]:
    """The command line of a low-priority ``foretell ARGS`` child."""
    return [sys.executable, "-c", LOWER_PRIORITY_THEN_EXEC, *args]


async def start(*args: str) -> asyncio.subprocess.Process:
    """Start ``foretell ARGS`` at idle priority in its own process group, stdout and stderr piped
    (read both, or a chatty child blocks), with this process's environment (``PYTHONPATH``...)."""
    return await asyncio.create_subprocess_exec(
        *command(*args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        process_group=0,
    )


def child_threads(units: int) -> int:
    """Torch threads for a training child of ``units`` LSTM units (its ``--threads``): one where
    the trainer's own rule finds its steps too small to share even at the largest batch
    (``train.threads.step_shares_threads``: the default size), else every usable CPU but one.

    Under ``SCHED_IDLE`` the engine preempts training whenever it wakes, but a preempted OpenMP
    thread stalls all its peers at the next barrier (``foretell.train.threads``: 2.8x slower
    measured), and the trainer's own policy counts the CPUs free when it starts, while the engine
    sleeps between events, so it would take them all. One core left free keeps the engine
    prompt and training's pace steady."""
    if not step_shares_threads(units, LARGEST_BATCH):
        return 1
    return max(1, usable_cpus() - 1)


async def stop(process: asyncio.subprocess.Process, grace_s: float = STOP_GRACE_S) -> int:
    """SIGTERM ``process``, SIGKILL it if it is still there after ``grace_s``; its exit status."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


def error_line(stderr: str, returncode: int, names: Mapping[str, str] | None = None) -> str:
    """One line for a failed child: its last line on stderr (the CLI's one-line error, without
    ``foretell: error:``, or a traceback's last line), else how it ended; each path in ``names``
    replaced by its name (the studio shows names, never paths)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    line = lines[-1].removeprefix(ERROR_PREFIX) if lines else _how_it_ended(returncode)
    for path, name in (names or {}).items():
        line = line.replace(path, name)
    return line[:MAX_ERROR_CHARS]


def _how_it_ended(returncode: int) -> str:
    if returncode < 0:
        with suppress(ValueError):
            return f"stopped by {signal.Signals(-returncode).name}"
    return f"ended with exit status {returncode}"
