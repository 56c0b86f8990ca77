"""Every model version a session learns, kept in one directory so any earlier one can come back.

Layout: ``v000.ftm``, ``v001.ftm``, ... and ``versions.json`` (a list, one record per version:
number, file, parent version, creation time, metrics and the fingerprints of the data it saw).
Version 0 of a store is the model the session started from. Files are written atomically
(temporary file, then rename), so a reader never sees half a version. One writer at a time (the
learner process while it runs, else the engine); readers anywhere. Construction opens nothing.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from foretell.errors import ModelFileError
from foretell.model.fileformat import ModelFile, save_model, weights_digest
from foretell.names import MODEL_SUFFIX

INDEX = "versions.json"


def version_file(number: int) -> str:
    """The file name of version ``number`` in a store."""
    return f"v{number:03d}{MODEL_SUFFIX}"


@dataclass(frozen=True)
class Version:
    """One kept model: its number, file name (in the store), parent and what it was judged on."""

    number: int
    file: str
    parent: int | None
    created: str
    digest: str
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class ModelStore:
    """The versions in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def versions(self) -> list[Version]:
        index = self.directory / INDEX
        if not index.is_file():
            return []
        try:
            return [Version(**record) for record in json.loads(index.read_text())]
        except (json.JSONDecodeError, TypeError) as exc:
            raise ModelFileError(f"{index} is corrupt ({exc})") from exc

    def get(self, number: int) -> Version:
        for version in self.versions():
            if version.number == number:
                return version
        known = ", ".join(str(v.number) for v in self.versions()) or "none"
        raise ModelFileError(f"no model version {number} in {self.directory} (versions: {known})")

    def path(self, number: int) -> Path:
        return self.directory / self.get(number).file

    def latest(self) -> Version | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def add(
        self,
        model: ModelFile,
        parent: int | None,
        metrics: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Version:
        """Save ``model`` as the next version and record it."""
        versions = self.versions()
        number = versions[-1].number + 1 if versions else 0
        version = Version(
            number=number,
            file=version_file(number),
            parent=parent,
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            digest=weights_digest(model.weights),
            metrics=dict(metrics or {}),
            data=dict(data or {}),
        )
        save_model(self.directory / version.file, model.with_info(version=number, parent=parent))
        self._write_index([*versions, version])
        return version

    def adopt(self, model: ModelFile, source: str | None = None) -> Version:
        """The version holding ``model``'s weights: the latest if it matches, else a new one."""
        latest = self.latest()
        if latest is not None and latest.digest == weights_digest(model.weights):
            return latest
        data = {"fingerprint": model.info.get("data_fingerprint"), "source": source}
        return self.add(model, None, {"best_val_nll": model.info.get("best_val_nll")}, data)

    def _write_index(self, versions: list[Version]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / (INDEX + ".partial")
        temporary.write_text(json.dumps([asdict(v) for v in versions], indent=1))
        os.replace(temporary, self.directory / INDEX)
