"""Datasets: takes turned into training data, ``datasets/NAME.npz`` (IMPSY's layout).

Beside each dataset a small ``NAME.json`` keeps which takes went in, so a model trained on it
can be scored on the newest take it never saw. Building and reading a dataset run in the
studio's worker processes (``foretell.studio.workers``). A dataset is written to a hidden file
first and put in place by a hard link that fails if the name is taken: a full disk or a
failed build leaves no partial ``NAME.npz``, and no build replaces one that exists.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from foretell.data.dataset import load_dataset
from foretell.data.logs_to_dataset import build_dataset
from foretell.errors import ForetellError
from foretell.names import plain_name
from foretell.studio.errors import StudioError, written
from foretell.studio.models import keep
from foretell.studio.shelf import Facts, Shelf
from foretell.studio.takes import Takes
from foretell.studio.workers import Workers

SUFFIX = ".npz"


@dataclass
class Datasets(Shelf):
    """The datasets in ``folder``, built from the takes of ``takes``."""

    suffix: ClassVar[str] = SUFFIX
    kind: ClassVar[str] = "dataset"
    takes: Takes
    workers: Workers

    def shown(self, path: Path, facts: Facts) -> Facts:
        return {**facts, "takes": self.takes_of(path.stem)}

    def read(self, path: Path) -> Facts:
        return dataset_facts(path)

    async def read_many(self, paths: list[Path]) -> list[Facts]:
        return await self.workers.run(read_datasets, paths)

    def takes_of(self, name: str) -> list[str]:
        """The takes a dataset was built from (empty if unknown: made outside the studio)."""
        try:
            recorded = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        takes = recorded.get("takes") if isinstance(recorded, dict) else None
        return [t for t in takes if isinstance(t, str)] if isinstance(takes, list) else []

    async def build(self, name: object, takes: object) -> dict[str, Any]:
        """Write the dataset ``name`` from the named takes (the performer's events of each)."""
        name = plain_name(name, "dataset")
        if not isinstance(takes, list) or not takes:
            raise StudioError("takes must be a list of take names (at least one)")
        if len(set(map(str, takes))) != len(takes):
            raise StudioError("a take is named twice")
        paths = [self.takes.path(take) for take in takes]
        out = self.folder / f"{name}{SUFFIX}"
        if out.exists():
            raise StudioError(f"a dataset called {name!r} exists already", 409)
        with written("the dataset"):
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, staged_name = tempfile.mkstemp(
                prefix=f".{name}-", suffix=SUFFIX, dir=self.folder
            )
            os.close(handle)
        staged = Path(staged_name)
        try:
            skipped = await self.workers.run(build_file, paths, staged)
            keep(staged, out)
            record = staged.with_suffix(".json")
            with written("which takes went into the dataset"):
                record.write_text(json.dumps({"takes": list(takes)}) + "\n", encoding="utf-8")
                os.replace(record, self.folder / f"{name}.json")
        finally:
            staged.unlink(missing_ok=True)
            staged.with_suffix(".json").unlink(missing_ok=True)
        return {"dataset": await self.described(out), "skipped": skipped}

    def delete(self, name: object) -> None:
        path = self.path(name)
        path.unlink()
        (self.folder / f"{path.stem}.json").unlink(missing_ok=True)  # which takes went in


def dataset_facts(path: Path) -> Facts:
    data = load_dataset(path)
    return {
        "name": path.stem,
        "events": data.events,
        "performances": len(data.performances),
        "dimension": data.dimension,
        "bytes": path.stat().st_size,
    }


def read_datasets(paths: list[Path]) -> list[Facts]:
    """Each dataset's facts, or why it cannot be read (in a worker process)."""
    from foretell.studio.shelf import broken

    found = []
    for path in paths:
        try:
            found.append(dataset_facts(path))
        except (OSError, ValueError, ForetellError) as exc:
            found.append(broken(path, exc))
    return found


def build_file(paths: list[Path], out: Path) -> list[str]:
    """Build the dataset ``out`` from the logs ``paths`` (in a worker process); the files
    skipped, each with why (one line, their names)."""
    with written("the dataset"):
        try:
            report = build_dataset(paths, out)
        except ForetellError as exc:
            message = str(exc)
            for path in (*paths, out):
                message = message.replace(str(path), path.name)
            raise StudioError(message.splitlines()[0]) from None
    return [f"{path.name}: {why}" for path, why in report.skipped_files]
