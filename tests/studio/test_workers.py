"""The studio's worker processes keep their CPU time out of the show's group (issue 32): each
starts a session of its own, so where the kernel groups CPU time by session (autogroup) a plot's
work is not charged to the group the show's thread waits in."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from foretell.bench.stall import write_take
from foretell.studio.workers import AUTOGROUP_NICE, WORKER_NICE, Workers
from tests.studio.helpers import command_line, needs_proc
from tests.studio.running import Client, _read_addresses, make_project
from tests.studio.test_plots import children_of


def where_am_i() -> tuple[int, str | None, int]:
    """In the worker: its session id, its autogroup line (None without autogroups), its nice."""
    try:
        group: str | None = Path("/proc/self/autogroup").read_text().strip()
    except OSError:
        group = None
    return os.getsid(0), group, os.getpriority(os.PRIO_PROCESS, 0)


def run_in_worker() -> tuple[int, str | None, int]:
    async def go() -> tuple[int, str | None, int]:
        workers = Workers(1)
        try:
            return await workers.run(where_am_i)
        finally:
            await workers.aclose()

    return asyncio.run(go())


def test_a_worker_runs_in_a_session_of_its_own_at_a_lower_priority() -> None:
    session, _, nice = run_in_worker()
    assert session != os.getsid(0)
    assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE)


AUTOGROUP_LINE = re.compile(r"(/autogroup-\d+) nice (-?\d+)")


def autogroup(line: str | None) -> tuple[str, int] | None:
    """An autogroup line's group and nice, or None where the kernel gives no such line."""
    found = AUTOGROUP_LINE.fullmatch((line or "").strip())
    return (found[1], int(found[2])) if found else None


def test_a_worker_is_charged_to_a_cpu_group_apart_from_the_studio() -> None:
    try:
        ours = autogroup(Path("/proc/self/autogroup").read_text())
    except OSError:
        ours = None
    if ours is None:  # no file, or an empty one (seen on a CI machine whose kernel keeps none)
        pytest.skip("this kernel does not group CPU time by session (no autogroup line)")
    _, line, _ = run_in_worker()
    group = autogroup(line)
    assert group is not None, line
    assert group[0] != ours[0], (group, ours)
    assert group[1] == AUTOGROUP_NICE, group


def ended(pid: int) -> bool:
    """Whether ``pid`` has ended (gone, or a zombie waiting for its new parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


@needs_proc
def test_the_workers_end_with_a_studio_killed_outright(tmp_path: Path) -> None:
    project = make_project(tmp_path / "pad", controls=3)
    write_take(project / "logs" / "verse-4d-mdrnn.log", 1000)
    command = [sys.executable, "-m", "foretell", "studio", str(project), "--port", "0"]
    studio = subprocess.Popen(
        [*command, "--osc-in", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    try:
        url, _ = _read_addresses(studio, [])
        plot = Client(url.split("studio/")[0]).get("api/takes/verse/plot")
        assert plot["rows"] == 1000  # a worker started
        children = children_of(studio.pid)  # the workers, multiprocessing's tracker
        workers = [pid for pid in children if "spawn_main" in " ".join(command_line(pid))]
        assert workers and all(os.getsid(pid) == pid for pid in workers)  # own sessions
    finally:
        studio.kill()
        studio.wait()
    deadline = time.monotonic() + 5
    while not all(ended(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in children if not ended(pid)] == []


POOL_PIDS = """
import asyncio, os, sys
os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: int(sys.argv[1])]))
from foretell.studio.workers import Workers
from tests.studio.test_workers import pid_after_a_while

async def go() -> None:
    workers = Workers()
    try:
        pids = await asyncio.gather(*(workers.run(pid_after_a_while) for _ in range(4)))
    finally:
        await workers.aclose()
    print(len(set(pids)))

asyncio.run(go())
"""


def pid_after_a_while() -> int:
    """In a worker: its pid, a while later (so that jobs sent at once overlap)."""
    time.sleep(0.3)
    return os.getpid()


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_the_pool_leaves_a_core_to_the_show(cores: int) -> None:
    """Four jobs at once run in one process fewer than the studio's cores, at least one: on two
    cores, one child, so the show's thread always finds a core free."""
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < cores:
        pytest.skip(f"this machine does not let the studio run on {cores} cores")
    run = subprocess.run(
        [sys.executable, "-c", POOL_PIDS, str(cores)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout) == max(1, cores - 1)


def sleep_after_saying_pid(path: Path) -> None:
    """In a worker: its pid written to ``path``, then a long sleep (work still running)."""
    path.write_text(str(os.getpid()))
    time.sleep(60)


@needs_proc
def test_closing_ends_running_work_and_leaves_no_pool_thread(tmp_path: Path) -> None:
    """Closing the pool ends a child still at work and waits for the pool's manager thread, so
    nothing of the pool is left for the interpreter's exit hook to race with."""
    import threading

    said = tmp_path / "pid"

    async def go() -> None:
        workers = Workers(1)
        running = asyncio.ensure_future(workers.run(sleep_after_saying_pid, said))
        for _ in range(400):
            if said.exists() and said.read_text():
                break
            await asyncio.sleep(0.025)
        await workers.aclose()
        running.cancel()

    asyncio.run(go())
    assert ended(int(said.read_text()))
    assert not [t for t in threading.enumerate() if "ExecutorManagerThread" in type(t).__name__]
