"""Models: the project's ``models/NAME.ftm`` files, listed with their facts, uploaded, deleted.

An upload is written to a hidden folder inside ``models/`` first and must load before it becomes
``NAME.ftm``: a foretell file through the same checks ``foretell run`` makes, an IMPSY ``.h5`` or
``.keras`` through ``import-impsy``'s importer (its scale read from the uploaded file's name, as
there). A file that does not load leaves nothing behind.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from foretell.errors import ForetellError
from foretell.model.fileformat import read_metadata, save_model
from foretell.names import plain_name
from foretell.studio.errors import StudioError
from foretell.studio.shelf import Shelf

SUFFIX = ".ftm"
IMPSY_SUFFIXES = (".h5", ".keras")
MAX_UPLOAD = 64 << 20  # bytes


@dataclass
class Models(Shelf):
    """The models in ``folder``."""

    suffix: ClassVar[str] = SUFFIX
    kind: ClassVar[str] = "model"

    def read(self, path: Path) -> dict[str, Any]:
        """What a page shows of one model file (its metadata; the weights are not read)."""
        meta = read_metadata(path)
        arch, info = meta.get("architecture", {}), meta.get("info", {})
        trained = info.get("config") if isinstance(info.get("config"), dict) else {}
        return {
            "name": path.stem,
            "file": path.name,
            "bytes": path.stat().st_size,
            "size": trained.get("size"),
            "units": arch.get("units"),
            "layers": arch.get("layers"),
            "mixtures": arch.get("mixtures"),
            "dimension": arch.get("dimension"),
            "data": {
                "name": info.get("data_name"),
                "events": info.get("data_events"),
                "best_val_nll": info.get("best_val_nll"),
            },
            "created": meta.get("created"),
        }

    def upload_target(self, file_name: object) -> tuple[str, str]:
        """The stem and suffix an upload called ``file_name`` is kept under; ``StudioError`` if
        the name is refused or taken (checked before the body is read)."""
        stem, suffix = upload_name(file_name)
        if (self.folder / f"{stem}{SUFFIX}").exists():
            raise StudioError(f"a model called {stem!r} exists already", 409)
        return stem, suffix

    def upload(self, file_name: object, body: bytes) -> dict[str, Any]:
        """Check and keep an uploaded model as ``NAME.ftm``; ``StudioError`` if it is refused."""
        stem, suffix = self.upload_target(file_name)
        target = self.folder / f"{stem}{SUFFIX}"
        if len(body) > MAX_UPLOAD:
            raise StudioError(f"an upload is at most {MAX_UPLOAD >> 20} MB", 413)
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.folder))
        try:
            received = staging / f"{stem}{suffix}"
            received.write_bytes(body)
            model = _checked(received, f"{stem}{suffix}")
            kept = received if suffix == SUFFIX else save_model(staging / f"import{SUFFIX}", model)
            kept.replace(target)  # a foretell file byte for byte; an IMPSY one as imported
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.describe(target)


def upload_name(file_name: object) -> tuple[str, str]:
    """The plain stem and the suffix of an uploaded file's name (``.ftm``, ``.h5``, ``.keras``)."""
    if not isinstance(file_name, str) or "." not in file_name:
        raise StudioError(
            f"name the upload's file (?name=NAME.ftm, .h5 or .keras), got {str(file_name)[:60]!r}"
        )
    stem, _, extension = file_name.rpartition(".")
    suffix = f".{extension.lower()}"
    if suffix not in (SUFFIX, *IMPSY_SUFFIXES):
        raise StudioError(f"a model upload is a .ftm, .h5 or .keras file, not {suffix[:20]!r}")
    return plain_name(stem, "model"), suffix


def _checked(path: Path, shown: str) -> Any:
    """The model in ``path`` once it loads (a foretell file, or an IMPSY one imported)."""
    from foretell.model.fileformat import load_model
    from foretell.model.protocol import build_model

    try:
        if path.suffix == SUFFIX:
            model = load_model(path)
        else:
            from foretell.impsy.keras_import import import_impsy_model

            model = import_impsy_model(path).model
        build_model(model).voice()  # builds as foretell run would build it
    except ForetellError as exc:
        raise StudioError(str(exc).replace(str(path), shown)) from None
    return model
