"""A take's plot is drawn once per state of its file (issue 32): eight pages asking at once read
the take once, asking again reads nothing, and a take that grew is read and drawn afresh. What the
studio's worker processes read is counted by the kernel (``rchar`` in ``/proc/PID/io``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest

from foretell.bench.stall import write_take
from foretell.studio.plots import PlotCache
from tests.studio.helpers import needs_proc
from tests.studio.running import StudioProcess, make_project, running_studio

ROWS = 60_000  # ~3 MB: what a plot reads stands out from the pipes' few bytes


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return found


def bytes_read_by_children(studio: StudioProcess) -> int:
    """What the studio's children (its workers) have read from files and pipes so far."""
    total = 0
    for child in children_of(studio.process.pid):
        try:
            io = Path(f"/proc/{child}/io").read_text()
        except OSError:  # ended since it was listed
            continue
        total += int(io.split("rchar:")[1].split()[0])
    return total


def plots_at_once(studio: StudioProcess, name: str, count: int) -> list[bytes]:
    def plot(_: int) -> bytes:
        reply = studio.client.request("GET", f"api/takes/{name}/plot")
        assert reply.status == 200, reply.body[:300]
        return reply.body

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(plot, range(count)))


@needs_proc
def test_a_take_is_read_once_however_many_pages_plot_it_and_again_when_it_grows(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "pad", controls=3)
    write_take(project / "logs" / "warm-4d-mdrnn.log", 1000)
    take = project / "logs" / "big-4d-mdrnn.log"
    write_take(take, ROWS)
    size = take.stat().st_size
    with running_studio(project) as studio:
        plots_at_once(studio, "warm", 1)  # a worker started, its imports read
        before = bytes_read_by_children(studio)
        plots = plots_at_once(studio, "big", 8)
        assert len(set(plots)) == 1
        read = bytes_read_by_children(studio) - before
        assert size <= read < 1.5 * size, (read, size)

        before = bytes_read_by_children(studio)
        assert plots_at_once(studio, "big", 8) == plots  # kept: nothing read again
        assert bytes_read_by_children(studio) - before < 0.1 * size

        with take.open("a", encoding="utf-8") as log:
            log.write("2026-01-02T00:00:00.000000,interface,0.1,0.2,0.3\n")
        grown = studio.client.get("api/takes/big/plot")
        assert grown["rows"] == ROWS + 1
        assert bytes_read_by_children(studio) - before >= size


def test_the_cache_is_bounded_and_keeps_no_failure() -> None:
    drawn: list[str] = []

    async def draw_as(label: str) -> bytes:
        await asyncio.sleep(0.01)
        drawn.append(label)
        if label == "broken":
            raise OSError("unreadable")
        return label.encode()

    async def go() -> None:
        cache = PlotCache(entries=1)
        key_a = ("a", 1, 1, 10, 1, 600)
        with pytest.raises(OSError):
            await cache.get(key_a, lambda: draw_as("broken"))
        results = await asyncio.gather(*(cache.get(key_a, lambda: draw_as("a")) for _ in range(8)))
        assert results == [b"a"] * 8 and drawn == ["broken", "a"]
        await cache.get(("b", 1, 2, 10, 1, 600), lambda: draw_as("b"))  # the first one goes
        assert await cache.get(key_a, lambda: draw_as("a again")) == b"a again"

    asyncio.run(go())
