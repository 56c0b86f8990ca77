"""Datasets in IMPSY's layout: an ``.npz`` file whose key ``perfs`` holds one float array
per performance, shape ``(n, 1 + N)``; column 0 is dt in seconds (> 0), columns 1..N are
controls in [0, 1].

Loading validates everything and names what is wrong (how many values, which performance and row).
The object array inside such a file is a pickle; it is read with a restricted unpickler that only
rebuilds NumPy arrays, so loading a dataset never executes code. This module does not window or
split data for training (see ``foretell.train.batches``).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foretell.errors import DatasetError

DATASET_KEY = "perfs"
BUNDLED_DIR = Path(__file__).parent / "bundled"


@dataclass(frozen=True)
class Dataset:
    """Validated performances, each a float32 array ``(n, dimension)``; empty ones are dropped."""

    performances: tuple[np.ndarray, ...]
    dimension: int
    name: str = "dataset"

    @property
    def events(self) -> int:
        return int(sum(len(p) for p in self.performances))

    def fingerprint(self) -> str:
        """SHA-256 over the performances' float32 bytes: names exactly the data a model saw."""
        digest = hashlib.sha256()
        for perf in self.performances:
            digest.update(np.ascontiguousarray(perf, dtype=np.float32).tobytes())
            digest.update(b"|")
        return digest.hexdigest()


def bundled_dataset_path() -> Path:
    """The LightPad 12k set shipped inside the package (MIT, see ``bundled/NOTICE.md``)."""
    return BUNDLED_DIR / "lightpad-12k.npz"


# -- safe reading -------------------------------------------------------------------------------

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # protocol-2 pickles store array bytes as latin-1 text
    ("__builtin__", "bytes"),  # pickles written by Python 2
    ("builtins", "bytes"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays and nothing else: any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_npy_member(raw: bytes) -> np.ndarray:
    stream = io.BytesIO(raw)
    version = np.lib.format.read_magic(stream)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    _, _, dtype = read_header(stream)
    if dtype.hasobject:
        array = _ArrayOnlyUnpickler(stream).load()
        if not isinstance(array, np.ndarray):
            raise DatasetError("the 'perfs' entry is not an array")
        return array
    stream.seek(0)
    return np.load(stream, allow_pickle=False)


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file without executing code."""
    if not path.exists():
        raise DatasetError(f"dataset {path} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            return {
                name.removesuffix(".npy"): _read_npy_member(archive.read(name))
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except DatasetError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise DatasetError(f"{path} is not a readable .npz dataset ({exc})") from exc


# -- validation ---------------------------------------------------------------------------------


def _as_performances(
    arrays: dict[str, np.ndarray], path: Path
) -> tuple[list[np.ndarray], list[int]]:
    if DATASET_KEY not in arrays:
        found = ", ".join(sorted(arrays)) or "nothing"
        raise DatasetError(f"{path} has no key '{DATASET_KEY}' (found: {found})")
    perfs = arrays[DATASET_KEY]
    single = perfs.dtype != object and perfs.ndim == 2  # one performance as one 2-D array
    perfs_list = [perfs] if single else list(perfs.ravel())
    out = []
    for index, perf in enumerate(perfs_list):
        array = np.asarray(perf)
        if array.size == 0:
            continue
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
            raise DatasetError(
                f"{path}: performance {index} is not a 2-D numeric array (shape {array.shape})"
            )
        out.append((index, array.astype(np.float64)))
    if not out:
        raise DatasetError(f"{path} holds no events")
    dims = {a.shape[1] for _, a in out}
    if len(dims) > 1:
        detail = ", ".join(f"performance {i}: {a.shape[1]}" for i, a in out[:6])
        raise DatasetError(f"{path} has ragged dimensions ({detail})")
    if out[0][1].shape[1] < 2:
        raise DatasetError(f"{path}: each event needs dt and at least one control")
    return [a for _, a in out], [i for i, _ in out]


def _where(mask: np.ndarray, indices: list[int], perfs: list[np.ndarray]) -> str:
    """Describe up to three (performance, row) places where ``mask`` is true."""
    places: list[str] = []
    offset = 0
    for index, perf in zip(indices, perfs, strict=True):
        rows = np.flatnonzero(mask[offset : offset + len(perf)].any(axis=-1))
        places += [f"performance {index} row {r}" for r in rows[: 3 - len(places)]]
        offset += len(perf)
        if len(places) >= 3:
            break
    return ", ".join(places)


def validate_performances(
    perfs: list[np.ndarray], indices: list[int], source: str, clip: bool
) -> list[np.ndarray]:
    """Check dt > 0, no NaN/inf, controls in [0, 1] (or clip them); raise naming what is wrong."""
    stacked = np.concatenate(perfs)
    checks = [
        (~np.isfinite(stacked), "NaN or infinite values"),
        ((stacked[:, :1] <= 0) & np.isfinite(stacked[:, :1]), "dt values <= 0"),
    ]
    for mask, what in checks:
        if mask.any():
            raise DatasetError(
                f"{source} has {int(mask.sum())} {what} (first at {_where(mask, indices, perfs)})"
            )
    controls = stacked[:, 1:]
    outside = (controls < 0) | (controls > 1)
    if outside.any() and not clip:
        raise DatasetError(
            f"{source} has {int(outside.sum())} control values outside [0, 1] "
            f"(first at {_where(outside, indices, perfs)}); use --clip to clip them"
        )
    if clip:
        perfs = [np.concatenate([p[:, :1], np.clip(p[:, 1:], 0, 1)], axis=1) for p in perfs]
    return perfs


def load_dataset(path: str | Path, clip: bool = False) -> Dataset:
    """Load and validate an IMPSY-layout ``.npz`` dataset."""
    path = Path(path)
    perfs, indices = _as_performances(read_npz_arrays(path), path)
    perfs = validate_performances(perfs, indices, str(path), clip)
    return Dataset(
        performances=tuple(p.astype(np.float32) for p in perfs),
        dimension=int(perfs[0].shape[1]),
        name=path.stem,
    )


def save_dataset(path: str | Path, performances: list[np.ndarray]) -> None:
    """Write performances in IMPSY's layout (object array under ``perfs``)."""
    array = np.empty(len(performances), dtype=object)
    for i, perf in enumerate(performances):
        array[i] = np.asarray(perf, dtype=np.float32)
    np.savez_compressed(Path(path), perfs=array)
