"""Import an IMPSY model file (``.keras`` zip, Keras ``.h5`` or ``.tflite``) as a foretell model.

``import_impsy_model(path)`` sniffs the file by its first bytes (never its suffix), reads the
weights with h5py (``h5_layouts``) or, for IMPSY 1.1's builtins-only TensorFlow Lite files, with
the ``tflite`` FlatBuffer reader (``tflite_import``); takes the architecture from the file's own
config, else its name, else its weights' shapes (``architecture``), checks every shape and
converts the arrays (``convert``). No TensorFlow. Any problem is one ``ImportModelError`` line
naming the file; a ``.tflite`` that needs Flex ops names the Keras file beside it to use
instead. This module writes nothing: ``save_model`` does that.

Bounded before read: the file is read in a memory-limited child (``sandbox``); a zip member is
inflated only up to its cap (``MAX_WEIGHTS_MEMBER``, ``MAX_JSON_MEMBER``); each HDF5 array's
declared shape is checked against the caps and the architecture the file's config (else its
name) declares before it is read (``h5_layouts.Budget``). Studio uploads, ``import-impsy`` and
IMPSY configs all come through ``import_impsy_model``.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foretell.errors import DependencyError, ImportModelError
from foretell.impsy import architecture as arch_mod
from foretell.impsy.architecture import ImpsyArchitecture
from foretell.impsy.convert import (
    architecture_from_weights,
    check_shapes,
    expected_shapes,
    impsy_spec,
    to_foretell,
)
from foretell.impsy.h5_layouts import Budget, KerasWeights, read_weights
from foretell.impsy.sandbox import in_child
from foretell.impsy.tflite_import import read_tflite_file
from foretell.model.fileformat import ModelFile

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
TFLITE_MAGIC = b"TFL3"  # at offset 4 (FlatBuffers file identifier)
KERAS_WEIGHTS_MEMBER = "model.weights.h5"
MAX_WEIGHTS_MEMBER = 64 << 20  # bytes of model.weights.h5 once inflated (a 1,024-unit model: 40)
MAX_JSON_MEMBER = 1 << 20  # bytes of config.json or metadata.json once inflated


@dataclass(frozen=True)
class KerasFile:
    """What an IMPSY file holds: weights, its Keras config if any, and the Keras version."""

    weights: KerasWeights
    config: dict[str, Any] | None
    keras_version: str
    graph_name: str = ""  # a .tflite's graph name (IMPSY's model name), else ""


@dataclass(frozen=True)
class ImportedModel:
    """An imported model and how it was read (for the CLI to report)."""

    model: ModelFile
    architecture: ImpsyArchitecture
    layout: str
    scale: float
    scale_source: str
    notes: tuple[str, ...]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _require_h5py() -> Any:
    from foretell.install import install_hint

    try:
        import h5py
    except ImportError as exc:
        raise DependencyError(
            f"reading IMPSY's Keras files needs h5py, the impsy extra: {install_hint('impsy')}"
        ) from exc
    return h5py


# -- reading the file ---------------------------------------------------------------------------


def _sniff(path: Path) -> str:
    if not path.is_file():
        raise ImportModelError(f"{path} does not exist")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head == HDF5_MAGIC:
        return "hdf5"
    if head[4:8] == TFLITE_MAGIC:
        return "tflite"
    raise ImportModelError(
        f"{path} is not an IMPSY model: it is neither a Keras .keras archive nor an HDF5 .h5 file"
    )


def _read_hdf5(
    source: Any, origin: str, name: str, config: dict[str, Any] | None = None
) -> tuple[KerasWeights, dict[str, Any] | None, str]:
    """Weights, the ``model_config`` attribute (Keras 2 full model) and the Keras version;
    each array read once its shape fits the architecture ``config`` (else the file's own
    config, else ``name``) declares."""
    h5py = _require_h5py()
    try:
        with h5py.File(source, "r") as root:
            config_text = root.attrs.get("model_config")
            if config is None and config_text is not None:
                config = _parse_json(config_text, origin, "model_config")
            weights = read_weights(root, origin, _budget(config, name, origin))
            version = root.attrs.get("keras_version", "")
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise ImportModelError(
            f"{origin} is truncated or corrupt (HDF5: {_first_line(exc)})"
        ) from exc
    return weights, config, _text(version)


def _budget(config: dict[str, Any] | None, name: str, origin: str) -> Budget:
    """What reading may allocate: the shapes of the declared architecture (the config's, else
    the name's), within the caps; the caps alone where nothing is declared."""
    declared = None
    if config is not None:
        try:
            declared = arch_mod.from_keras_config(config, origin)
        except ImportModelError:
            declared = None  # choose_architecture says what is wrong with it, once read
    declared = declared or arch_mod.from_name(name)
    if declared is None:
        return Budget()
    lstm, head = expected_shapes(declared)
    shapes = {shape for layer in lstm for shape in layer}
    shapes |= {shape for pair in head.values() for shape in pair}
    return Budget(shapes, f"{declared.describe()} (from {declared.source})")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _parse_json(text: Any, origin: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(_text(text))
    except json.JSONDecodeError as exc:
        raise ImportModelError(f"{origin}: its {what} is not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise ImportModelError(f"{origin}: its {what} is not a JSON object")
    return data


def _inflate(archive: zipfile.ZipFile, member: str, limit: int, origin: str) -> bytes:
    """A member's bytes, refused as soon as it inflates past ``limit`` (a zip bomb is one
    line, not gigabytes: the sizes a zip declares are not trusted either)."""
    declared = archive.getinfo(member).file_size
    if declared > limit:
        raise ImportModelError(
            f"{origin}: {member} inflates to {declared >> 20} MB; at most {limit >> 20} MB"
        )
    chunks, size = [], 0
    with archive.open(member) as stream:
        while chunk := stream.read(1 << 16):
            size += len(chunk)
            if size > limit:
                raise ImportModelError(
                    f"{origin}: {member} inflates past {limit >> 20} MB; refused"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _read_keras_zip(path: Path) -> KerasFile:
    origin = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if KERAS_WEIGHTS_MEMBER not in names:
                raise ImportModelError(
                    f"{path} is a zip but not a Keras model archive (no {KERAS_WEIGHTS_MEMBER})"
                )
            config_text, meta_text = (
                _inflate(archive, member, MAX_JSON_MEMBER, origin) if member in names else None
                for member in ("config.json", "metadata.json")
            )
            config = _parse_json(config_text, origin, "config.json") if config_text else None
            blob = _inflate(archive, KERAS_WEIGHTS_MEMBER, MAX_WEIGHTS_MEMBER, origin)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ImportModelError(f"{path} is truncated or corrupt (zip: {_first_line(exc)})") from exc
    member = f"{origin} ({KERAS_WEIGHTS_MEMBER})"
    weights, _, _ = _read_hdf5(io.BytesIO(blob), member, path.name, config)
    meta = _parse_json(meta_text, origin, "metadata.json") if meta_text is not None else {}
    return KerasFile(weights, config, str(meta.get("keras_version", "")))


def read_keras_file(path: str | Path) -> KerasFile:
    """Read an IMPSY ``.keras`` or ``.h5`` file's weights and config (no conversion)."""
    path = Path(path)
    kind = _sniff(path)
    if kind == "zip":
        return _read_keras_zip(path)
    if kind == "tflite":
        tflite = read_tflite_file(path)
        return KerasFile(tflite.weights, None, "", tflite.name)
    weights, config, version = _read_hdf5(path, str(path), path.name)
    return KerasFile(weights, config, version)


# -- the import ---------------------------------------------------------------------------------


def choose_architecture(keras: KerasFile, path: Path) -> tuple[ImpsyArchitecture, list[str]]:
    """Config first, then the name pattern, then the weights; notes on any disagreement."""
    named = arch_mod.from_name(path.name)
    notes: list[str] = []
    if keras.config is not None:
        arch = arch_mod.from_keras_config(keras.config, str(path))
        if named is not None and (named.dimension, named.layers, named.units, named.mixtures) != (
            arch.dimension,
            arch.layers,
            arch.units,
            arch.mixtures,
        ):
            notes.append(f"the file name says {named.describe()}; the file's config wins")
        return arch, notes
    if named is not None:
        return named, notes
    graph_named = arch_mod.from_name(keras.graph_name) if keras.graph_name else None
    if graph_named is not None:
        return graph_named, notes
    return architecture_from_weights(keras.weights, str(path)), notes


def import_impsy_model(path: str | Path, scale: float | None = None) -> ImportedModel:
    """Read an IMPSY model file and return it as a foretell ``ModelFile`` (not yet saved).

    ``scale`` overrides IMPSY's ``SCALE_FACTOR`` (else read from the name, else 10).
    """
    path = Path(path)
    if _sniff(path) != "tflite":
        _require_h5py()  # here, so a missing extra is its one line, not the child's
    keras = in_child(read_keras_file, (path,), str(path))
    arch, notes = choose_architecture(keras, path)
    check_shapes(keras.weights, arch, str(path))
    if scale is not None:
        scale_source = "the scale given"
    else:
        scale, scale_source = arch_mod.scale_from_names(
            ("the file name", path.name),
            ("the Keras model name", arch.name),
            ("the TensorFlow Lite graph name", keras.graph_name),
        )
    if scale <= 0:
        raise ImportModelError(f"{path}: the input scale must be positive, not {scale:g}")
    if arch.recurrent_activation == "hard_sigmoid":
        notes.append(
            "its config says the LSTMs were trained with hard_sigmoid gates; IMPSY runs them "
            "with sigmoid gates, and so does foretell"
        )
    info = {
        "name": path.stem,
        "source": "IMPSY",
        "imported_from": path.name,
        "keras_layout": keras.weights.layout,
        "keras_version": keras.keras_version or "unknown",
        "architecture_from": arch.source,
        "impsy_scale": scale,
        "impsy_scale_from": scale_source,
        **({"import_notes": notes} if notes else {}),
    }
    model = ModelFile(impsy_spec(arch, scale), to_foretell(keras.weights), info)
    return ImportedModel(model, arch, keras.weights.layout, scale, scale_source, tuple(notes))
