"""Takes: the project's logs, one file each, named ``logs/NAME-{dim}d-mdrnn.log``.

A take is what the engine logged between two ``take`` commands (or a whole session, named by its
start time). ``Takes`` lists them with what a page shows (start, events, duration, dimension),
renames and deletes them (never the one being recorded) and draws a small plot of one. Sizes are
read incrementally: a log only grows, so each summary parses just the bytes written since the
last look (the take being recorded is asked for every second or so). Parsing runs in the
studio's worker processes (``foretell.studio.workers``: ``read_tallies``, ``plot_take``), never
on a thread of the show's process.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foretell.data.log import (
    SIDECAR_SUFFIX,
    SOURCES_BY_NAME,
    dimension_from_name,
    sample_log,
    take_file_name,
    take_from_name,
)
from foretell.names import plain_name
from foretell.studio.errors import StudioError
from foretell.studio.plots import PlotCache, plot_key
from foretell.studio.workers import Workers

PLOT_POINTS = 600  # at most this many rows drawn per take


@dataclass
class _Tally:
    """What the bytes of one log read so far hold (kept per file, grown as it grows)."""

    identity: tuple[int, int] = (0, 0)  # device and inode: a new file starts over
    offset: int = 0
    user: int = 0
    model: int = 0
    first: _dt.datetime | None = None
    last: _dt.datetime | None = None

    def add(self, line: str) -> None:
        fields = line.split(",", 2)
        if len(fields) < 3 or fields[1] not in SOURCES_BY_NAME:
            return
        try:
            stamp = _dt.datetime.fromisoformat(fields[0])
        except ValueError:
            return
        source = SOURCES_BY_NAME[fields[1]]
        if source == "user":
            self.user += 1
        elif source == "model":
            self.model += 1
        self.first = stamp if self.first is None else self.first
        self.last = stamp


@dataclass
class Takes:
    """The takes in ``folder``; ``current`` names the file the engine writes now (or None)."""

    folder: Path
    workers: Workers
    tallies: dict[Path, _Tally] = field(default_factory=dict)
    plots: PlotCache = field(default_factory=PlotCache)

    def path(self, name: object) -> Path:
        """The log file of the take ``name``; ``StudioError`` (404) if there is none."""
        name = plain_name(name, "take")
        for path in self._files():
            if take_from_name(path) == name:
                return path
        raise StudioError(f"no take called {name!r}", 404)

    def names(self) -> list[str]:
        """The names of the takes (no file is read)."""
        return [str(take_from_name(path)) for path in self._files()]

    def exists(self, name: str) -> bool:
        return any(take_from_name(path) == name for path in self._files())

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        found = [p for p in self.folder.glob("*-mdrnn.log") if p.is_file() and not p.is_symlink()]
        return [p for p in found if dimension_from_name(p) and _plain(take_from_name(p))]

    async def refresh(self, paths: list[Path] | None = None) -> None:
        """Bring the tallies of ``paths`` (default: every take) up to date, reading what was
        appended since the last look in a worker process."""
        stale = []
        for path in self._files() if paths is None else paths:
            with contextlib.suppress(OSError):  # deleted since the folder was listed
                tally = self._current(path)
                if path.stat().st_size > tally.offset:
                    stale.append((path, tally))
        if stale:
            grown = await self.workers.run(read_tallies, stale)
            for (path, _), tally in zip(stale, grown, strict=True):
                self.tallies[path] = tally

    def _current(self, path: Path) -> _Tally:
        """The tally kept for ``path``, or a new one if the file is new or was replaced."""
        stat = path.stat()
        identity, tally = (stat.st_dev, stat.st_ino), self.tallies.get(path)
        if tally is None or tally.identity != identity or stat.st_size < tally.offset:
            tally = self.tallies[path] = _Tally(identity=identity)
        return tally

    async def listing(self, current: Path | None) -> list[dict[str, Any]]:
        """Every take, newest first (as the API's ``take`` objects)."""
        await self.refresh()
        found = []
        for path in self._files():
            try:
                take = self.describe(path, current)
                found.append(((self._started(path), path.stat().st_mtime_ns), take))
            except OSError:  # deleted or unreadable since the folder was listed
                continue
        return [take for _, take in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def _started(self, path: Path) -> _dt.datetime:
        """When the take began: its first row, or (none yet) when its file was made."""
        first = self._current(path).first
        return first if first is not None else _dt.datetime.fromtimestamp(path.stat().st_mtime)

    def describe(self, path: Path, current: Path | None) -> dict[str, Any]:
        """What the page shows of a take, as far as it was read (``refresh`` reads more)."""
        tally = self._current(path)
        start = self._started(path)
        duration = 0.0
        if tally.first is not None and tally.last is not None:
            duration = (tally.last - tally.first).total_seconds()
        return {
            "name": take_from_name(path),
            "file": path.name,
            "start": start.isoformat(timespec="seconds"),
            "events": tally.user,
            "model_events": tally.model,
            "duration": round(duration, 3),
            "dimension": dimension_from_name(path),
            "current": current is not None and path.resolve() == current.resolve(),
            "bytes": tally.offset,
        }

    def rename(self, name: object, new: object, current: Path | None) -> dict[str, Any]:
        """Rename a take (and its sidecar); not the one being recorded."""
        path = self._changeable(name, current, "rename")
        new = plain_name(new, "new name")
        if self.exists(new):
            raise StudioError(f"a take called {new!r} exists already", 409)
        dimension = dimension_from_name(path)
        assert dimension is not None
        target = path.with_name(take_file_name(new, dimension))
        os.rename(path, target)
        sidecar = _sidecar(path)
        if sidecar.exists():
            os.rename(sidecar, _sidecar(target))
        tally = self.tallies.pop(path, None)
        if tally is not None:  # the same file under a new name: nothing to read again
            self.tallies[target] = tally
        return self.describe(target, current)

    def delete(self, name: object, current: Path | None) -> None:
        """Delete a take's log and sidecar; not the one being recorded."""
        path = self._changeable(name, current, "delete")
        path.unlink()
        _sidecar(path).unlink(missing_ok=True)
        self.tallies.pop(path, None)

    def _changeable(self, name: object, current: Path | None, verb: str) -> Path:
        path = self.path(name)
        if current is not None and path.resolve() == current.resolve():
            raise StudioError(
                f"cannot {verb} take {take_from_name(path)!r} while it is being recorded "
                "(start a new take first)",
                409,
            )
        return path

    async def plot(self, name: object) -> bytes:
        """At most ``PLOT_POINTS`` rows of a take: seconds from its start, values, whose; as
        JSON, encoded in the worker (encoding holds the GIL: not on a thread beside the show);
        drawn once per state of the file however many pages ask (``foretell.studio.plots``)."""
        path = self.path(name)
        try:
            key = plot_key(path, PLOT_POINTS)
        except OSError:  # deleted since it was found
            raise StudioError(f"no take called {take_from_name(path)!r}", 404) from None
        return await self.plots.get(key, lambda: self.workers.run(plot_take, path))


def read_tallies(stale: list[tuple[Path, _Tally]]) -> list[_Tally]:
    """Each tally grown by the complete rows appended to its file (in a worker process)."""
    return [_read_more(path, tally) for path, tally in stale]


def _read_more(path: Path, tally: _Tally) -> _Tally:
    try:
        with path.open("rb") as handle:
            handle.seek(tally.offset)
            chunk = handle.read()
    except OSError:
        return tally
    complete = chunk.rfind(b"\n") + 1  # a row still being written waits for next time
    for line in chunk[:complete].decode("utf-8", "replace").splitlines():
        tally.add(line)
    tally.offset += complete
    return tally


def plot_take(path: Path) -> bytes:
    """The plot of the take in ``path`` as JSON (in a worker process): see ``Takes.plot``."""
    count, kept = sample_log(path, PLOT_POINTS)
    start = kept[0].time if kept else 0.0
    controls = max((len(row.values) for row in kept), default=0)
    plot = {
        "name": take_from_name(path),
        "rows": count,
        "t": [round(row.time - start, 4) for row in kept],
        "values": [[round(row.values[i], 4) for row in kept] for i in range(controls)],
        "model": [row.source == "model" for row in kept],
    }
    return json.dumps(plot, separators=(",", ":"), allow_nan=False).encode()


def _plain(name: str | None) -> bool:
    try:
        plain_name(name, "take")
    except ValueError:
        return False
    return True


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".log") + SIDECAR_SUFFIX)
