"""IMPSY's builtins-only ``.tflite``: read without TensorFlow, same outputs as IMPSY and the
``.keras`` twin; Flex-ops files and hostile files are one line naming the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from foretell.errors import ImportModelError
from foretell.impsy.keras_import import import_impsy_model, read_keras_file
from foretell.impsy.tflite_import import FlexOpsError, read_tflite_file
from foretell.model.fileformat import load_model, save_model
from foretell.model.runtime import DenseModel
from foretell.model.trace import trace_performance
from tests.impsy.conftest import DIM4, IMPSY11, REFERENCES

PARITY_TOLERANCE = 1e-3  # as for .keras/.h5 (issue 7)

pytest.importorskip("tflite", reason="reading .tflite needs the tflite package (foretell[impsy])")


def one_line_error(path: Path) -> str:
    with pytest.raises(ImportModelError) as caught:
        import_impsy_model(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    return message


def reference(shipped: Callable[[str], Path], name: str) -> tuple[list, list]:
    data = np.load(shipped(REFERENCES[name]), allow_pickle=True)
    return list(data["perfs"]), list(data["raw"])


def test_builtins_only_tflite_imports_with_its_architecture(
    shipped: Callable[[str], Path],
) -> None:
    imported = import_impsy_model(shipped(f"{IMPSY11}.tflite"))
    spec = imported.model.spec
    assert (spec.dimension, spec.layers, spec.units, spec.mixtures) == (4, 2, 64, 5)
    assert imported.layout.startswith("TensorFlow Lite builtins-only")
    assert imported.scale == 10.0 and spec.sigma_activation == "elu1"


def test_tflite_plays_like_its_keras_twin(shipped: Callable[[str], Path], tmp_path: Path) -> None:
    tflite = save_model(tmp_path / "t.ftm", import_impsy_model(shipped(f"{IMPSY11}.tflite")).model)
    keras = save_model(tmp_path / "k.ftm", import_impsy_model(shipped(f"{IMPSY11}.keras")).model)
    perfs, _ = reference(shipped, DIM4)  # LightPad inputs: (dt, x, y, pressure)
    for perf in perfs:
        raw_t, _ = trace_performance(DenseModel(load_model(tflite)).voice(), perf)
        raw_k, _ = trace_performance(DenseModel(load_model(keras)).voice(), perf)
        assert np.abs(raw_t - raw_k).max() <= PARITY_TOLERANCE


def _buffer_span(model: object, data: bytes, tensor: object) -> tuple[int, int]:
    """Where a constant tensor's bytes lie in the file (start, length)."""
    buffer = model.Buffers(tensor.Buffer())  # type: ignore[attr-defined]
    view = buffer.DataAsNumpy()
    start = view.__array_interface__["data"][0] - np.frombuffer(data, np.uint8).ctypes.data
    return int(start), int(buffer.DataLength())


def test_tflite_with_impsy_reference_weights_reproduces_impsy(
    shipped: Callable[[str], Path], tmp_path: Path
) -> None:
    """The IMPSY 1.1 .tflite's weights swapped for the reference model's (same shapes): its
    outputs must be IMPSY's own, on inputs the reader never saw."""
    import tflite

    source = shipped(f"{IMPSY11}.tflite")
    theirs = read_tflite_file(source).weights
    wanted = read_keras_file(shipped(f"{DIM4}.keras")).weights
    data = bytearray(source.read_bytes())
    frozen = bytes(data)
    model = tflite.Model.GetRootAs(frozen, 0)
    pairs = [
        (old.T if old.ndim == 2 else old, new.T if new.ndim == 2 else new)
        for layer_old, layer_new in zip(theirs.lstm, wanted.lstm, strict=True)
        for old, new in zip(layer_old, layer_new, strict=True)
    ] + [
        (
            theirs.head[p][i].T if i == 0 else theirs.head[p][i],
            wanted.head[p][i].T if i == 0 else wanted.head[p][i],
        )
        for p in ("mus", "sigmas", "pis")
        for i in (0, 1)
    ]
    replaced = 0
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            buffer = model.Buffers(tensor.Buffer())
            if tensor.Type() != 0 or not buffer.DataLength():
                continue
            current = buffer.DataAsNumpy().view(np.float32)
            for old, new in pairs:
                if old.size == current.size and np.array_equal(old.ravel(), current):
                    start, length = _buffer_span(model, frozen, tensor)
                    data[start : start + length] = np.ascontiguousarray(new, np.float32).tobytes()
                    replaced += 1
                    break
    assert replaced >= len(pairs)
    swapped = tmp_path / f"{DIM4}.tflite"
    swapped.write_bytes(bytes(data))
    runtime = DenseModel(import_impsy_model(swapped).model).voice()
    perfs, raws = reference(shipped, DIM4)
    for perf, expected in zip(perfs, raws, strict=True):
        raw, _ = trace_performance(runtime, perf)
        assert np.abs(raw - expected).max() <= PARITY_TOLERANCE


def test_flex_ops_tflite_names_the_keras_file_beside_it(shipped: Callable[[str], Path]) -> None:
    shipped(f"{DIM4}.keras")
    message = one_line_error(shipped(f"{DIM4}.tflite"))
    assert "Flex ops" in message and f"import {DIM4}.keras beside it instead" in message


def test_lone_flex_ops_tflite_says_which_kind_of_file_to_use(
    shipped: Callable[[str], Path],
) -> None:
    path = shipped(f"{DIM4}.tflite")
    with pytest.raises(FlexOpsError) as caught:
        import_impsy_model(path)
    assert caught.value.sibling is None and ".keras or .h5 file" in str(caught.value)


@pytest.mark.parametrize("keep", [8, 64, 1000, 20000, 60000])
def test_truncated_tflite_is_one_line(shipped: Callable[[str], Path], keep: int) -> None:
    source = shipped(f"{IMPSY11}.tflite")
    path = source.with_name("cut.tflite")
    path.write_bytes(source.read_bytes()[:keep])
    message = one_line_error(path)
    assert "corrupt" in message or "not" in message


def test_tflite_with_scrambled_bytes_is_one_line_or_imports(
    shipped: Callable[[str], Path],
) -> None:
    source = shipped(f"{IMPSY11}.tflite")
    original = source.read_bytes()
    rng = np.random.default_rng(21)
    for trial in range(40):
        data = bytearray(original)
        for offset in rng.integers(8, min(len(data), 4096), size=6):
            data[int(offset)] = int(rng.integers(0, 256))
        path = source.with_name(f"scrambled{trial}.tflite")
        path.write_bytes(bytes(data))
        try:
            imported = import_impsy_model(path)
        except ImportModelError as exc:
            assert "\n" not in str(exc) and path.name in str(exc)
        else:  # a byte in a weight's value: still a well-formed model
            assert imported.model.spec.dimension == 4


def test_identifier_but_garbage_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "fake.tflite"
    path.write_bytes(b"\x10\x00\x00\x00TFL3" + b"\xff" * 200)
    assert "corrupt" in one_line_error(path)


def test_cli_imports_a_tflite(shipped: Callable[[str], Path]) -> None:
    from click.testing import CliRunner

    from foretell.cli import cli

    path = shipped(f"{IMPSY11}.tflite")
    result = CliRunner().invoke(cli, ["import-impsy", str(path)])
    assert result.exit_code == 0, result.output
    assert "TensorFlow Lite builtins-only" in result.output
    assert load_model(path.with_suffix(".ftm")).spec.dimension == 4


def _config_naming(model: Path) -> Path:
    path = model.parent / "config.toml"
    path.write_text(
        f'verbose = true\n[model]\ndimension = 4\nfile = "{model.name}"\nsize = "s"\n'
        "pitemp = 1\nsigmatemp = 0.01\n"
    )
    return path


def test_a_config_naming_a_tflite_imports_it_once(shipped: Callable[[str], Path]) -> None:
    from foretell.impsy.config import import_model, read_run_config

    model = shipped(f"{IMPSY11}.tflite")
    config = import_model(read_run_config(_config_naming(model)))
    assert config.model.file == model.with_suffix(".ftm")
    assert load_model(model.with_suffix(".ftm")).info["imported_from"] == model.name
    stamp = model.with_suffix(".ftm").stat().st_mtime_ns
    again = read_run_config(_config_naming(model))  # the .ftm beside it is used
    assert again.import_source is None and again.config == config
    assert model.with_suffix(".ftm").stat().st_mtime_ns == stamp


def test_a_config_naming_a_flex_tflite_runs_on_its_keras_sibling(
    shipped: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from foretell.impsy.config import import_model, read_run_config

    shipped(f"{DIM4}.keras")
    model = shipped(f"{DIM4}.tflite")
    with caplog.at_level(logging.WARNING):
        import_model(read_run_config(_config_naming(model)))
    assert load_model(model.with_suffix(".ftm")).info["imported_from"] == f"{DIM4}.keras"
    assert any("Flex ops; importing" in r.getMessage() for r in caplog.records)
