"""A shelf: the plain-named files of one kind in one project folder (``models/*.ftm``,
``datasets/*.npz``), found by name, listed newest first, each described once per version of the
file (its modification time and size): a page that polls reads nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from foretell.errors import ForetellError
from foretell.names import plain_name
from foretell.studio.errors import StudioError


@dataclass
class Shelf:
    """Files ``folder/NAME{suffix}``; a subclass says what one holds (``read``)."""

    folder: Path
    suffix: ClassVar[str]
    kind: ClassVar[str]  # "model", "dataset": what errors call one
    _facts: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def path(self, name: object) -> Path:
        """The file of ``name``; ``StudioError`` (404) if there is none (links are not)."""
        path = self.folder / f"{plain_name(name, self.kind)}{self.suffix}"
        if not path.is_file() or path.is_symlink():
            raise StudioError(f"no {self.kind} called {name!r}", 404)
        return path

    def listing(self) -> list[dict[str, Any]]:
        """What every readable file holds, newest first; others are left out."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(f"*{self.suffix}"):
            try:
                plain_name(path.stem)
                found.append((path.stat().st_mtime_ns, self.describe(path)))
            except (OSError, ValueError, ForetellError):  # not one of ours, or unreadable
                continue
        return [facts for _, facts in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def describe(self, path: Path) -> dict[str, Any]:
        """What ``path`` holds (read again only when the file changed)."""
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._facts.get(path)
        if cached is None or cached[0] != version:
            cached = self._facts[path] = (version, self.read(path))
        return dict(cached[1])

    def read(self, path: Path) -> dict[str, Any]:
        raise NotImplementedError

    def delete(self, name: object) -> None:
        self.path(name).unlink()
