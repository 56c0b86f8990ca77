"""The plots of takes, each drawn once per state of its file.

A plot reads the whole take (a million rows: 0.1 s of a worker's CPU). Pages ask for the same one
at once (eight open pages, a page reloaded), and on a machine with as many workers as cores every
plot drawn is a core the show's thread may have to wait for. ``PlotCache`` keeps the last plots
drawn, keyed by what a plot depends on: the file (device, inode, path: the name is in the plot),
its size and modification time, and the number of points. A request while the same plot is being
drawn waits for that drawing rather than starting another. A take being recorded grows, so its
key changes and the next request draws it afresh; a renamed, replaced or deleted take never
matches an old key. At most ``entries`` plots are kept (the least recently used go first).

The cache belongs to the studio server's loop: it is used from that loop only.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

PlotKey = tuple[str, int, int, int, int, int]
KEPT_PLOTS = 32  # ~40 KB each at 600 points


def plot_key(path: Path, points: int) -> PlotKey:
    """What the plot of ``path`` depends on (``OSError`` if the file is gone)."""
    stat = path.stat()
    return (str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, points)


class PlotCache:
    """The last ``entries`` plots drawn, and those being drawn (see the module docstring)."""

    def __init__(self, entries: int = KEPT_PLOTS) -> None:
        self.entries = entries
        self._kept: OrderedDict[PlotKey, bytes] = OrderedDict()
        self._drawing: dict[PlotKey, asyncio.Task[bytes]] = {}

    async def get(self, key: PlotKey, draw: Callable[[], Awaitable[bytes]]) -> bytes:
        """The plot for ``key``: kept, being drawn, or drawn now by ``draw()``."""
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            return kept
        task = self._drawing.get(key)
        if task is None:
            task = self._drawing[key] = asyncio.ensure_future(self._draw(key, draw))
        # shielded: a page that stops waiting does not cancel the drawing the others wait for
        return await asyncio.shield(task)

    async def _draw(self, key: PlotKey, draw: Callable[[], Awaitable[bytes]]) -> bytes:
        try:
            plot = await draw()
        finally:
            del self._drawing[key]
        self._keep(key, plot)
        return plot

    def _keep(self, key: PlotKey, plot: bytes) -> None:
        for older in [k for k in self._kept if k[0] == key[0] and k[1:3] == key[1:3]]:
            del self._kept[older]  # the same file before it grew: never asked for again
        self._kept[key] = plot
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)
