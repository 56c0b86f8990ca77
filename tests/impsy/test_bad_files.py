"""Every bad file gets one clear ``ImportModelError`` line naming it; odd-but-valid files import."""

from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from foretell.errors import DependencyError, ImportModelError
from foretell.impsy.keras_import import import_impsy_model
from tests.impsy.conftest import DIM2, DIM4, IMPSY11


def import_error(path: Path) -> str:
    with pytest.raises(ImportModelError) as caught:
        import_impsy_model(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    return message


def rewrite_zip(source: Path, target: Path, replace: dict[str, str | bytes | None]) -> Path:
    """Copy a zip, replacing members (``None`` drops one)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = replace.get(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


def edit_keras3_weights(source: Path, target: Path, edit: Callable[..., None]) -> Path:
    import h5py

    with zipfile.ZipFile(source) as archive:
        blob = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(blob, "r+") as root:
        edit(root)
    return rewrite_zip(source, target, {"model.weights.h5": blob.getvalue()})


# -- not an IMPSY model at all -------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"hello, not a model\n", b"\x00" * 100])
def test_other_files_are_not_impsy_models(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / f"{DIM4}.h5"
    path.write_bytes(content)
    assert "is not an IMPSY model" in import_error(path)


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in import_error(tmp_path / "nothing.keras")


def test_hdf5_without_keras_weights(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as root:
        root["x"] = np.zeros(3)
    assert "holds no Keras model weights" in import_error(path)


def test_zip_that_is_not_a_keras_archive(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hi")
    assert "not a Keras model archive" in import_error(path)


def test_keras_model_of_another_kind(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    source = shipped(f"{DIM2}.keras")
    config = json.loads(zipfile.ZipFile(source).read("config.json"))
    config["config"]["layers"].append({"class_name": "Conv1D", "config": {"name": "conv"}})
    path = rewrite_zip(source, tmp_path / "other.keras", {"config.json": json.dumps(config)})
    assert "'conv' (Conv1D) is not part of an IMPSY MDRNN" in import_error(path)


# -- truncated or corrupt -------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", [f"{DIM2}.h5", f"{DIM4}.h5", f"{DIM4}.keras"])
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.95])
def test_truncated_files(
    shipped: Callable[[str], Path], tmp_path: Path, file_name: str, fraction: float
) -> None:
    data = shipped(file_name).read_bytes()
    path = tmp_path / f"cut-{file_name}"
    path.write_bytes(data[: int(len(data) * fraction)])
    assert "truncated or corrupt" in import_error(path)


def test_corrupt_config_json(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    path = rewrite_zip(shipped(f"{DIM4}.keras"), tmp_path / "bad.keras", {"config.json": b"{oops"})
    assert "config.json is not valid JSON" in import_error(path)


# -- wrong shapes, missing layers -----------------------------------------------------------------


def test_weights_that_do_not_fit_the_name(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    path = tmp_path / "musicMDRNN-dim4-layers2-units32-mixtures5-scale10.h5"
    shutil.copyfile(shipped(f"{DIM4}.h5"), path)
    message = import_error(path)
    assert "weight 'lstm0/kernel:0' declares shape (4, 256)" in message
    assert "2 x 32 LSTM, 5 mixtures (from the file-name pattern" in message
    assert message.endswith("refused before reading")


def test_weights_that_do_not_fit_the_config(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    source = shipped(f"{DIM2}.keras")
    config = json.loads(zipfile.ZipFile(source).read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "MDN":
            layer["config"]["num_mixtures"] = 8
    path = rewrite_zip(source, tmp_path / "m.keras", {"config.json": json.dumps(config)})
    message = import_error(path)
    assert "MDN sub-layer 'mdn_mus'" in message
    assert "8 mixtures (from the file's own Keras config) does not have" in message
    assert message.endswith("refused before reading")


def test_h5_layer_listed_but_missing(shipped: Callable[[str], Path]) -> None:
    import h5py

    path = shipped(f"{DIM4}.h5")  # a writable copy
    with h5py.File(path, "r+") as root:
        del root["lstm1"]
    assert "layer 'lstm1' is listed but missing" in import_error(path)


def test_h5_without_its_mdn_layer(shipped: Callable[[str], Path]) -> None:
    import h5py

    path = shipped(f"{DIM4}.h5")  # a writable copy
    with h5py.File(path, "r+") as root:
        root.attrs["layer_names"] = np.array([b"inputs", b"lstm0", b"lstm1"])
    assert "missing layers: found 2 LSTM layers and no MDN layer" in import_error(path)


def test_keras_file_missing_an_lstm_layer(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    def drop(root: Any) -> None:
        del root["layers/lstm_1"]

    path = edit_keras3_weights(shipped(f"{DIM4}.keras"), tmp_path / "m.keras", drop)
    assert "wrong layer shapes: 1 LSTM layers, expected 2" in import_error(path)


def test_keras_file_missing_a_weight(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    def drop(root: Any) -> None:
        del root["layers/mdn/mdn_pi/vars/1"]

    path = edit_keras3_weights(shipped(f"{IMPSY11}.keras"), tmp_path / "m.keras", drop)
    assert "MDN sub-layer 'mdn_pi' is missing its weights" in import_error(path)


def test_h5py_missing_says_how_to_install_it(
    shipped: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shipped(f"{DIM4}.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(
        DependencyError, match=r"needs h5py, the impsy extra: .*pip install .*impsy"
    ):
        import_impsy_model(path)


# -- odd but valid ---------------------------------------------------------------------------------


def test_renamed_weights_only_file_takes_its_architecture_from_the_shapes(
    shipped: Callable[[str], Path], tmp_path: Path
) -> None:
    path = tmp_path / "my-lightpad-model.h5"
    shutil.copyfile(shipped(f"{DIM4}.h5"), path)
    imported = import_impsy_model(path)
    assert imported.architecture.source.startswith("the weights' shapes")
    assert (imported.model.spec.dimension, imported.model.spec.units) == (4, 64)
    assert imported.scale == 10.0 and "default" in imported.scale_source


def test_bare_keras3_weights_file(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    path = tmp_path / "musicMDRNN-dim2-layers2-units32-mixtures5-scale10.weights.h5"
    path.write_bytes(zipfile.ZipFile(shipped(f"{DIM2}.keras")).read("model.weights.h5"))
    imported = import_impsy_model(path)
    assert imported.layout.startswith("Keras 3")
    assert imported.architecture.source.startswith("the file-name pattern")
    reference = import_impsy_model(shipped(f"{DIM2}.h5")).model.weights
    for name, tensor in imported.model.weights.items():
        np.testing.assert_array_equal(tensor, reference[name])


def test_scale_can_be_given(shipped: Callable[[str], Path]) -> None:
    imported = import_impsy_model(shipped(f"{DIM4}.keras"), scale=5.0)
    assert imported.model.spec.transform.scale == (0.2,) * 4
