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
