"""An imported IMPSY model plays exactly as it did before the model seam (same seed, same CSV
bytes as ``tests/model/data/impsy-dim4-plain.csv``, written by that code)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from foretell.impsy.keras_import import import_impsy_model
from foretell.model.fileformat import save_model
from foretell.model.protocol import build_model
from foretell.model.runtime import DenseModel
from tests.impsy.conftest import DIM4
from tests.model.test_compatibility import DATA, generate_csv


def test_an_imported_impsy_model_generates_the_same_bytes_as_before(
    shipped: Callable[[str], Path], tmp_path: Path
) -> None:
    imported = import_impsy_model(shipped(f"{DIM4}.h5")).model
    assert isinstance(build_model(imported), DenseModel)
    path = save_model(tmp_path / "imported.ftm", imported)
    got = generate_csv(path, tmp_path / "impsy.csv", 11, [])
    assert got == (DATA / "impsy-dim4-plain.csv").read_bytes()
