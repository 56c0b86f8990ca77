import json
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from foretell.errors import ModelFileError
from foretell.model.fileformat import ModelFile, load_model, save_model
from foretell.model.random import random_model


def test_round_trip_keeps_spec_weights_and_info(tmp_path: Path) -> None:
    model = random_model(dimension=3, units=8, layers=3, mixtures=2)
    path = save_model(tmp_path / "m.ftm", model)
    loaded = load_model(path)
    assert loaded.spec == model.spec
    assert loaded.info == {"name": "random"}
    for name, tensor in model.weights.items():
        np.testing.assert_array_equal(loaded.weights[name], tensor)
    assert not (tmp_path / "m.ftm.partial").exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "nope.ftm")


def test_truncated_file(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model())
    data = path.read_bytes()
    for keep in (5, 40, len(data) // 2, len(data) - 3):
        path.write_bytes(data[:keep])
        with pytest.raises(ModelFileError):
            load_model(path)


def test_flipped_weight_byte_fails_the_checksum(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model())
    data = bytearray(path.read_bytes())
    data[-7] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load_model(path)


def rewrite_metadata(path: Path, edit: object) -> None:
    """Rewrite the JSON metadata inside a safetensors header in place."""
    data = path.read_bytes()
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["foretell"])
    edit(meta)  # type: ignore[operator]
    header["__metadata__"]["foretell"] = json.dumps(meta)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data[8 + size :])


def test_wrong_version_is_named(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model())
    rewrite_metadata(path, lambda meta: meta.update(format_version=99))
    with pytest.raises(ModelFileError, match="format version 99; this foretell reads version 1"):
        load_model(path)


def test_architecture_disagreeing_with_tensors_is_named(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model(units=16))
    rewrite_metadata(path, lambda meta: meta["architecture"].update(units=32))
    with pytest.raises(ModelFileError, match="tensor lstm.0.weight_ih has shape \\(64, 4\\)"):
        load_model(path)


def test_saving_wrong_shapes_is_refused(tmp_path: Path) -> None:
    model = random_model()
    weights = dict(model.weights)
    weights["head.bias"] = np.zeros(3, dtype=np.float32)
    with pytest.raises(ModelFileError, match="head.bias"):
        save_model(tmp_path / "m.ftm", ModelFile(model.spec, weights))
    with pytest.raises(ModelFileError, match="missing \\['head.bias'\\]"):
        save_model(
            tmp_path / "m.ftm",
            replace(model, weights={k: v for k, v in model.weights.items() if k != "head.bias"}),
        )


def test_other_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.ftm"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError, match="not a foretell model file"):
        load_model(path)
    from safetensors.numpy import save_file

    save_file({"a": np.zeros(2, dtype=np.float32)}, str(path))
    with pytest.raises(ModelFileError, match="without foretell metadata"):
        load_model(path)


def test_cli_reports_a_corrupt_file_in_one_line(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model())
    path.write_bytes(path.read_bytes()[:100])
    result = subprocess.run(
        [sys.executable, "-m", "foretell", "info", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("foretell: error: ")
    assert "Traceback" not in result.stderr


def test_cli_info_prints_metadata_and_parameter_count(tmp_path: Path) -> None:
    model = random_model(units=16)
    path = save_model(tmp_path / "m.ftm", model)
    result = subprocess.run(
        [sys.executable, "-m", "foretell", "info", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["parameters"] == model.spec.parameter_count()
    assert (summary["units"], summary["layers"], summary["dimension"]) == (16, 2, 4)
    assert summary["kind"] == "dense"
    assert summary["format_version"] == 1
