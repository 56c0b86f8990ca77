"""Importing IMPSY's shipped models: layouts, architecture sources, and parity with IMPSY itself."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from foretell.data.dataset import bundled_dataset_path, load_dataset
from foretell.impsy.keras_import import import_impsy_model
from foretell.model.fileformat import load_model, save_model
from foretell.model.runtime import DenseModel
from foretell.model.trace import trace_performance
from tests.impsy.conftest import DIM2, DIM4, IMPSY11, REFERENCES

PARITY_TOLERANCE = 1e-3  # issue 7; TensorFlow float32 vs a float64 forward differ by ~1.5e-4

SHIPPED = [
    (f"{DIM2}.h5", "Keras 2 full model", "the file's own Keras config"),
    (f"{DIM2}.keras", "Keras 3", "the file's own Keras config"),
    (f"{DIM4}.h5", "Keras 2 weights-only", "the file-name pattern (musicMDRNN-dim4-layers2"),
    (f"{DIM4}.keras", "Keras 3", "the file's own Keras config"),
    (f"{IMPSY11}.keras", "Keras 3", "the file's own Keras config"),
]


def reference(shipped: Callable[[str], Path], name: str) -> tuple[list, list]:
    data = np.load(shipped(REFERENCES[name]), allow_pickle=True)
    return list(data["perfs"]), list(data["raw"])


@pytest.mark.parametrize(("file_name", "layout", "source"), SHIPPED)
def test_each_shipped_file_imports_with_its_layout_and_architecture_source(
    shipped: Callable[[str], Path], file_name: str, layout: str, source: str
) -> None:
    imported = import_impsy_model(shipped(file_name))
    spec = imported.model.spec
    dimension = 2 if "dim2" in file_name else 4
    assert (spec.dimension, spec.layers, spec.units, spec.mixtures) == (
        dimension,
        2,
        32 if dimension == 2 else 64,
        5,
    )
    assert imported.layout.startswith(layout)
    assert imported.architecture.source.startswith(source)
    assert imported.scale == 10.0
    assert spec.sigma_activation == "elu1" and spec.floor_weight == 0.0
    assert spec.transform.dt_min == pytest.approx(0.000454)  # IMPSY's proc_generated_touch


@pytest.mark.parametrize(
    "file_name", [f"{DIM2}.h5", f"{DIM2}.keras", f"{DIM4}.h5", f"{DIM4}.keras"]
)
def test_imported_model_reproduces_impsy_reference_outputs(
    shipped: Callable[[str], Path], file_name: str, tmp_path: Path
) -> None:
    model_path = save_model(tmp_path / "imported.ftm", import_impsy_model(shipped(file_name)).model)
    runtime = DenseModel(load_model(model_path)).voice()
    perfs, raws = reference(shipped, file_name.rsplit(".", 1)[0])
    for perf, expected in zip(perfs, raws, strict=True):
        raw, nll = trace_performance(runtime, perf)
        assert np.abs(raw - expected).max() <= PARITY_TOLERANCE
        assert np.isfinite(nll).all()


def test_h5_and_keras_files_of_one_model_hold_the_same_weights(
    shipped: Callable[[str], Path],
) -> None:
    for name in (DIM2, DIM4):
        h5 = import_impsy_model(shipped(f"{name}.h5")).model.weights
        keras = import_impsy_model(shipped(f"{name}.keras")).model.weights
        assert h5.keys() == keras.keys()
        for key in h5:
            np.testing.assert_array_equal(h5[key], keras[key])


def test_nll_is_reported_in_the_data_space(shipped: Callable[[str], Path]) -> None:
    """Scaled-space density + log|dz/dx| = D log(scale): the Jacobian of IMPSY's x10."""
    imported = import_impsy_model(shipped(f"{DIM4}.h5"))
    runtime = DenseModel(imported.model).voice()
    perf = reference(shipped, DIM4)[0][0]
    raw, nll = trace_performance(runtime, perf)
    z = perf[1:].astype(np.float64) * 10.0
    mu, sigma, logits = imported.model.spec.mixture.split(raw[:-1].astype(np.float64))
    log_pi = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    component = -0.5 * (((z[:, None] - mu) / sigma) ** 2 + np.log(2 * np.pi * sigma**2)).sum(-1)
    scaled_nll = -np.log(np.exp(log_pi + component).sum(-1))
    np.testing.assert_allclose(nll, scaled_nll - 4 * np.log(10.0), rtol=1e-6, atol=1e-6)


# -- IMPSY 1.1's own file: no reference, so a float64 forward straight from its Keras arrays --


def keras3_arrays(path: Path) -> dict[str, np.ndarray]:
    """The raw Keras arrays of a ``.keras`` zip, read independently of foretell's readers."""
    import h5py

    with (
        zipfile.ZipFile(path) as archive,
        h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as root,
    ):
        arrays: dict[str, np.ndarray] = {}
        root.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, np.asarray(obj, np.float64))
                if hasattr(obj, "shape")
                else None
            )
        )
    return arrays


def float64_forward(arrays: dict[str, np.ndarray], perf: np.ndarray, scale: float) -> np.ndarray:
    """IMPSY's inference model in float64: two Keras LSTMs (gates i, f, c, o) and the MDN."""
    sigmoid = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    layers = ["layers/lstm/cell/vars", "layers/lstm_1/cell/vars"]
    units = arrays[f"{layers[0]}/1"].shape[0]
    h = [np.zeros(units) for _ in layers]
    c = [np.zeros(units) for _ in layers]
    mdn = {
        p: (arrays[f"layers/mdn/mdn_{p}/vars/0"], arrays[f"layers/mdn/mdn_{p}/vars/1"])
        for p in ("mus", "sigmas", "pi")
    }
    out = []
    for event in perf.astype(np.float64) * scale:
        x = event
        for i, layer in enumerate(layers):
            gates = x @ arrays[f"{layer}/0"] + h[i] @ arrays[f"{layer}/1"] + arrays[f"{layer}/2"]
            gi, gf, gc, go = np.split(gates, 4)
            c[i] = sigmoid(gf) * c[i] + sigmoid(gi) * np.tanh(gc)
            h[i] = sigmoid(go) * np.tanh(c[i])
            x = h[i]
        mus = x @ mdn["mus"][0] + mdn["mus"][1]
        a = x @ mdn["sigmas"][0] + mdn["sigmas"][1]
        sigmas = np.where(a > 0, a, np.expm1(np.minimum(a, 0))) + 1.0 + 1e-7
        logits = x @ mdn["pi"][0] + mdn["pi"][1]
        out.append(np.concatenate([mus, sigmas, logits]))
    return np.array(out)


def test_impsy11_keras_file_matches_a_float64_forward_of_its_own_weights(
    shipped: Callable[[str], Path],
) -> None:
    path = shipped(f"{IMPSY11}.keras")
    imported = import_impsy_model(path)
    runtime = DenseModel(imported.model).voice()
    arrays = keras3_arrays(path)
    for perf in load_dataset(bundled_dataset_path()).performances[:2]:
        raw, nll = trace_performance(runtime, perf[:300])
        expected = float64_forward(arrays, perf[:300], 10.0)
        assert np.abs(raw - expected).max() <= PARITY_TOLERANCE
        # sane: positive scales, finite scores, and it knows its own training data well
        assert (raw[:, 20:40] > 0).all() and np.isfinite(nll).all()
        assert nll.mean() < 0.0
