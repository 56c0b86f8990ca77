"""Models: the project's ``models/NAME.ftm`` files, listed with their facts, uploaded, deleted.

An upload is streamed into a hidden folder inside ``models/`` as it arrives (never whole in
memory; refused, 413, as soon as it passes ``MAX_UPLOAD``) and must load before it becomes
``NAME.ftm``: a foretell file through the same checks ``foretell run`` makes, an IMPSY ``.h5`` or
``.keras`` through ``import-impsy``'s importer (its scale read from the uploaded file's name, as
there), in a worker process (``foretell.studio.workers``). A file that does not load leaves
nothing behind. A model is put in place by a hard link that fails if the name is taken
(``keep``), so neither an upload nor a training job ever replaces a model that exists (409).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from foretell.errors import ForetellError
from foretell.model.fileformat import read_metadata, save_model
from foretell.names import MODEL_SUFFIX, plain_name
from foretell.studio.errors import StudioError, disk_error, written
from foretell.studio.http import save_body
from foretell.studio.shelf import Shelf
from foretell.studio.workers import Workers

IMPSY_SUFFIXES = (".h5", ".keras")
MAX_UPLOAD = 64 << 20  # bytes


@dataclass
class Models(Shelf):
    """The models in ``folder``."""

    suffix: ClassVar[str] = MODEL_SUFFIX
    kind: ClassVar[str] = "model"

    workers: Workers

    def read(self, path: Path) -> dict[str, Any]:
        """What a page shows of one model file (its metadata; the weights are not read);
        ``ValueError`` naming what is wrong if the metadata is not a model's."""
        meta = read_metadata(path)
        arch, info = _table(meta, "architecture"), _table(meta, "info")
        config = info.get("config")
        trained: dict[str, Any] = config if isinstance(config, dict) else {}
        return {
            "name": path.stem,
            "file": path.name,
            "kind": meta.get("kind", "dense"),
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

    def dimension(self, path: Path) -> int | None:
        """The model's dimension; ``StudioError`` with why if the file cannot be read."""
        facts = self.describe(path)
        if "broken" in facts:
            raise StudioError(f"model {path.stem!r} cannot be played: {facts['broken']}", 409)
        dimension = facts.get("dimension")
        return dimension if isinstance(dimension, int) else None

    def upload_target(self, file_name: object) -> tuple[str, str]:
        """The stem and suffix an upload called ``file_name`` is kept under; ``StudioError`` if
        the name is refused or taken (checked before the body is read)."""
        stem, suffix = upload_name(file_name)
        if (self.folder / f"{stem}{MODEL_SUFFIX}").exists():
            raise StudioError(f"a model called {stem!r} exists already", 409)
        return stem, suffix

    async def upload(self, file_name: object, body: AsyncIterable[bytes]) -> dict[str, Any]:
        """Receive (as it arrives), check and keep an uploaded model as ``NAME.ftm``;
        ``StudioError`` if it is refused."""
        stem, suffix = self.upload_target(file_name)
        target = self.folder / f"{stem}{MODEL_SUFFIX}"
        with written("the upload"):
            self.folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=self.folder))
        try:
            received = staging / f"{stem}{suffix}"
            await save_body(body, received, MAX_UPLOAD, "the upload")
            kept = await self.workers.run(check_upload, received, f"{stem}{suffix}")
            keep(kept, target)  # a foretell file byte for byte; an IMPSY one as imported
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.describe(target)


def _table(meta: dict[str, Any], key: str) -> dict[str, Any]:
    value = meta.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"its metadata's {key!r} is a {type(value).__name__}, not a table")
    return value


def keep(staged: Path, target: Path) -> None:
    """Put ``staged`` in place as ``target``, never over a file that exists (``StudioError``
    409 then): a hard link, which fails if the name is taken, then the staged name removed."""
    try:
        os.link(staged, target)
    except FileExistsError:
        kind = "model" if target.suffix == MODEL_SUFFIX else "file"
        raise StudioError(f"a {kind} called {target.stem!r} exists already", 409) from None
    except OSError as exc:
        raise disk_error(exc, f"cannot keep {target.name}") from None
    staged.unlink(missing_ok=True)


def check_upload(received: Path, shown: str) -> Path:
    """The file to keep for the upload ``received`` once it loads (in a worker process): the
    file itself (a foretell model) or the imported model saved beside it (IMPSY)."""
    model = _checked(received, shown)
    if received.suffix == MODEL_SUFFIX:
        return received
    with written("the imported model"):
        return save_model(received.with_name(f"import{MODEL_SUFFIX}"), model)


def upload_name(file_name: object) -> tuple[str, str]:
    """The plain stem and the suffix of an uploaded file's name (``.ftm``, ``.h5``, ``.keras``)."""
    if not isinstance(file_name, str) or "." not in file_name:
        raise StudioError(
            f"name the upload's file (?name=NAME.ftm, .h5 or .keras), got {str(file_name)[:60]!r}"
        )
    stem, _, extension = file_name.rpartition(".")
    suffix = f".{extension.lower()}"
    if suffix not in (MODEL_SUFFIX, *IMPSY_SUFFIXES):
        raise StudioError(f"a model upload is a .ftm, .h5 or .keras file, not {suffix[:20]!r}")
    return plain_name(stem, "model"), suffix


def _checked(path: Path, shown: str) -> Any:
    """The model in ``path`` once it loads (a foretell file, or an IMPSY one imported)."""
    from foretell.model.fileformat import load_model
    from foretell.model.protocol import build_model

    try:
        if path.suffix == MODEL_SUFFIX:
            model = load_model(path)
        else:
            from foretell.impsy.keras_import import import_impsy_model

            model = import_impsy_model(path).model
        build_model(model).voice()  # builds as foretell run would build it
    except ForetellError as exc:
        raise StudioError(str(exc).replace(str(path), shown)) from None
    return model
