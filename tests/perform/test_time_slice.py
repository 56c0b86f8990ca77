"""The show's thread asks for a short time slice, so that it preempts a busy core's task when it
wakes (issue 32, ``foretell.perform.time_slice``); the studio's other threads and its workers keep
the default, or they would preempt the show alike."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from foretell.bench.stall import write_take
from foretell.perform.time_slice import SHOW_SLICE_NS, prompt_wakeups
from tests.studio.running import make_project, running_studio
from tests.studio.test_plots import children_of


def time_slice(task: Path) -> int | None:
    """A task's time slice (ns) from ``/proc/.../sched``; None where the kernel shows none."""
    try:
        lines = (task / "sched").read_text().splitlines()
    except OSError:
        return None
    found = [line.split(":")[1] for line in lines if line.startswith("se.slice")]
    return int(found[0]) if found else None


def slices_available() -> bool:
    """Whether this kernel takes and shows a thread's slice (tried on a thread of the test's)."""
    seen: list[int | None] = []

    def ask() -> None:
        seen.append(time_slice(Path("/proc/thread-self")) if prompt_wakeups() else None)

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join()
    return seen == [SHOW_SLICE_NS]


@pytest.mark.skipif(not slices_available(), reason="this kernel takes or shows no time slices")
def test_only_the_shows_thread_runs_on_a_short_slice(tmp_path: Path) -> None:
    project = make_project(tmp_path / "pad", controls=3)
    write_take(project / "logs" / "verse-4d-mdrnn.log", 1000)
    with running_studio(project) as studio:
        assert studio.client.get("api/takes/verse/plot")["rows"] == 1000  # a worker started
        pid = studio.process.pid
        show = Path(f"/proc/{pid}/task/{pid}")  # the show's loop runs on the main thread
        others = [task for task in Path(f"/proc/{pid}/task").iterdir() if task != show]
        workers = [Path(f"/proc/{child}") for child in children_of(pid)]
        assert time_slice(show) == SHOW_SLICE_NS
        assert others and workers
        assert all(time_slice(task) not in (None, SHOW_SLICE_NS) for task in others + workers)
