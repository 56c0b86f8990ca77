"""Model files written by someone else: every value in the metadata is checked, the header size
is checked before parsing, and the architecture is covered by the checksum. Each bad file is one
``ModelFileError`` line (before, these gave tracebacks, or loaded and failed on every input)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from foretell.errors import ModelFileError
from foretell.model.fileformat import load_model, save_model
from foretell.model.random import random_model
from tests.model.test_fileformat import rewrite_metadata


def _set(*keys: str, value: object) -> Any:
    def edit(meta: dict[str, Any]) -> None:
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("architecture", value=[1, 2]), "architecture must be an object, not list"),
        (_set("architecture", "dimension", value=float("inf")), r"dimension = inf is invalid"),
        (_set("architecture", "dimension", value=True), r"dimension = True is invalid"),
        (_set("architecture", "dimension", value=4.5), r"dimension = 4.5 is invalid"),
        (_set("architecture", "units", value=10**400), "units = 1000"),
        (_set("architecture", "sigma_min", value=float("nan")), r"sigma_min = nan is invalid"),
        (_set("architecture", "sigma_min", value=-1.0), r"sigma_min = -1.0 is invalid"),
        (_set("architecture", "transform", "dt_offset", value=-1.0), r"dt_offset = -1.0"),
        (_set("architecture", "transform", "scale", value="wide"), "scale must be a list"),
        (_set("architecture", "transform", value=None), "transform must be an object"),
        (_set("architecture", "floor_sigma", value=2.0), "architecture does not match"),
        (_set("info", value=[1]), "info is not an object"),
        (_set("format_version", value=[1]), "format version \\[1\\]"),
    ],
)
def test_bad_metadata_is_one_line(tmp_path: Path, edit: Any, message: str) -> None:
    path = save_model(tmp_path / "m.ftm", random_model(units=8))
    rewrite_metadata(path, edit)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_a_header_size_beyond_the_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model(units=8))
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 99_000_000) + data[8:])
    with pytest.raises(ModelFileError, match="header claims 99000000 bytes"):
        load_model(path)


def test_a_huge_real_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.ftm"
    header = b"{" + b" " * (6 << 20) + b"}"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelFileError, match="a model header is at most"):
        load_model(path)


def test_a_saved_model_still_loads(tmp_path: Path) -> None:
    model = random_model(units=8)
    loaded = load_model(save_model(tmp_path / "m.ftm", model))
    assert loaded.spec == model.spec
