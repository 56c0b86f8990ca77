"""IMPSY's shipped models, copied into each test's tmp_path (skipped when ../shared is absent)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "impsy-models"
DIM2 = "musicMDRNN-dim2-layers2-units32-mixtures5-scale10"
DIM4 = "musicMDRNN-dim4-layers2-units64-mixtures5-scale10"
IMPSY11 = "impsy11-lightpad12k-dim4-layers2-units64-mixtures5-scale10"
REFERENCES = {
    DIM2: "reference-dim2-layers2-units32.npz",
    DIM4: "reference-dim4-layers2-units64.npz",
}


@pytest.fixture
def shipped(tmp_path: Path) -> Callable[[str], Path]:
    """``shipped(file_name)`` copies one shipped IMPSY file into ``tmp_path`` (writable)."""
    pytest.importorskip("h5py", reason="IMPSY import needs h5py (pip install 'foretell[impsy]')")

    def copy(name: str) -> Path:
        source = SHARED_MODELS / name
        if not source.is_file():
            pytest.skip(f"IMPSY models not available ({source} is absent)")
        target = tmp_path / name
        shutil.copyfile(source, target)
        return target

    return copy
