"""A shelf: the plain-named files of one kind in one project folder (``models/*.ftm``,
``datasets/*.npz``), found by name, listed newest first, each described once per version of the
file (its modification time and size): a page that polls reads nothing twice. A file that cannot
be read is listed too, as ``{"name", "file", "broken": why}`` (one line, its name, never a path),
so the page can say what is wrong with it and it can be deleted from there."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from foretell.errors import ForetellError
from foretell.names import plain_name
from foretell.studio.errors import StudioError

Facts = dict[str, Any]


@dataclass
class Shelf:
    """Files ``folder/NAME{suffix}``; a subclass says what one holds (``read``, or ``read_many``
    for all those not read yet at once, e.g. in a worker process)."""

    folder: Path
    suffix: ClassVar[str]
    kind: ClassVar[str]  # "model", "dataset": what errors call one
    _facts: dict[Path, tuple[tuple[int, int], Facts]] = field(
        default_factory=dict, init=False, repr=False
    )

    def path(self, name: object) -> Path:
        """The file of ``name``; ``StudioError`` (404) if there is none (links are not)."""
        path = self.folder / f"{plain_name(name, self.kind)}{self.suffix}"
        if not path.is_file() or path.is_symlink():
            raise StudioError(f"no {self.kind} called {name!r}", 404)
        return path

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(f"*{self.suffix}"):
            try:
                plain_name(path.stem)
            except (ValueError, ForetellError):  # not one of ours
                continue
            if path.is_file() and not path.is_symlink():
                found.append(path)
        return found

    async def listing(self) -> list[Facts]:
        """What every file holds (or why it cannot be read), newest first."""
        versions = {}
        for path in self._files():
            try:
                stat = path.stat()
            except OSError:  # deleted since the folder was listed
                continue
            versions[path] = (stat.st_mtime_ns, stat.st_size)
        unread = [p for p, v in versions.items() if self._facts.get(p, (None,))[0] != v]
        if unread:
            for path, facts in zip(unread, await self.read_many(unread), strict=True):
                self._facts[path] = (versions[path], facts)
        newest = sorted(versions, key=lambda p: versions[p][0], reverse=True)
        return [self.shown(path, dict(self._facts[path][1])) for path in newest]

    def shown(self, path: Path, facts: Facts) -> Facts:
        """What the listing shows of one file's facts (a subclass may add to them)."""
        return facts

    async def read_many(self, paths: list[Path]) -> list[Facts]:
        return [self.read_or_broken(path) for path in paths]

    def read_or_broken(self, path: Path) -> Facts:
        """``read(path)``, or the file as broken, with why in one line (its name, not a path)."""
        try:
            return self.read(path)
        except (OSError, ValueError, ForetellError) as exc:
            return broken(path, exc)

    async def described(self, path: Path) -> Facts:
        """``describe(path)``, the file read as ``read_many`` reads (a worker, for datasets)."""
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        if self._facts.get(path, (None,))[0] != version:
            self._facts[path] = (version, (await self.read_many([path]))[0])
        return self.describe(path)

    def describe(self, path: Path) -> Facts:
        """What ``path`` holds (read again only when the file changed)."""
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._facts.get(path)
        if cached is None or cached[0] != version:
            cached = self._facts[path] = (version, self.read_or_broken(path))
        return self.shown(path, dict(cached[1]))

    def read(self, path: Path) -> Facts:
        raise NotImplementedError

    def delete(self, name: object) -> None:
        self.path(name).unlink()


def broken(path: Path, exc: BaseException) -> Facts:
    """A file that cannot be read, as the listing shows it."""
    why = str(exc).replace(str(path.parent) + "/", "").replace(str(path), path.name)
    lines = why.strip().splitlines()
    return {
        "name": path.stem,
        "file": path.name,
        "broken": lines[0][:300] if lines else "unreadable",
    }
