"""Datasets: takes turned into training data, ``datasets/NAME.npz`` (IMPSY's layout).

Beside each dataset a small ``NAME.json`` keeps which takes went in, so a model trained on it
can be scored on the newest take it never saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from foretell.data.dataset import load_dataset
from foretell.data.logs_to_dataset import build_dataset
from foretell.names import plain_name
from foretell.studio.errors import StudioError
from foretell.studio.shelf import Shelf
from foretell.studio.takes import Takes

SUFFIX = ".npz"


@dataclass
class Datasets(Shelf):
    """The datasets in ``folder``, built from the takes of ``takes``."""

    suffix: ClassVar[str] = SUFFIX
    kind: ClassVar[str] = "dataset"
    takes: Takes

    def describe(self, path: Path) -> dict[str, Any]:
        return {**super().describe(path), "takes": self.takes_of(path.stem)}

    def read(self, path: Path) -> dict[str, Any]:
        data = load_dataset(path)
        return {
            "name": path.stem,
            "events": data.events,
            "performances": len(data.performances),
            "dimension": data.dimension,
            "bytes": path.stat().st_size,
        }

    def takes_of(self, name: str) -> list[str]:
        """The takes a dataset was built from (empty if unknown: made outside the studio)."""
        try:
            recorded = json.loads((self.folder / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        takes = recorded.get("takes") if isinstance(recorded, dict) else None
        return [t for t in takes if isinstance(t, str)] if isinstance(takes, list) else []

    def build(self, name: object, takes: object) -> dict[str, Any]:
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
        self.folder.mkdir(parents=True, exist_ok=True)
        report = build_dataset(paths, out)
        (self.folder / f"{name}.json").write_text(
            json.dumps({"takes": list(takes)}) + "\n", encoding="utf-8"
        )
        skipped = [f"{path.name}: {why}" for path, why in report.skipped_files]
        return {"dataset": self.describe(out), "skipped": skipped}

    def delete(self, name: object) -> None:
        path = self.path(name)
        path.unlink()
        (self.folder / f"{path.stem}.json").unlink(missing_ok=True)  # which takes went in
