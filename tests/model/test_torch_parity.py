"""The NumPy runtime computes what the PyTorch model computes (mixture params within 1e-5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foretell.model.fileformat import ModelFile, ModelSpec, load_model, save_model
from foretell.model.runtime import DenseModel
from foretell.model.transform import DataTransform
from tests.fixtures import bundled_performances

torch = pytest.importorskip("torch")
from foretell.model.torch_mdrnn import MDRNN  # noqa: E402


def _torch_model(layers: int, units: int, seed: int) -> tuple[MDRNN, np.ndarray]:
    performance = bundled_performances(limit=1001)[0].astype(np.float64)
    torch.manual_seed(seed)
    spec = ModelSpec(4, layers, units, 5, DataTransform.fit(performance))
    net = MDRNN(spec)
    with torch.no_grad():  # larger than the default init, so the state actually moves
        for parameter in net.parameters():
            parameter.mul_(3.0)
    return net, performance


@pytest.mark.parametrize(("layers", "units"), [(2, 64), (3, 32)])
def test_runtime_matches_torch_over_1000_steps(tmp_path: Path, layers: int, units: int) -> None:
    net, performance = _torch_model(layers, units, seed=layers)
    path = save_model(tmp_path / "m.ftm", ModelFile(net.spec, net.to_weights()))
    runtime = DenseModel(load_model(path)).voice()
    numpy_raw = np.stack([runtime.observe(event).copy() for event in performance[:1000]])
    z = torch.from_numpy(net.spec.transform.to_net(performance[:1000]))[None]  # (1, T, D)
    with torch.no_grad():
        torch_raw = net(z)[0][0].numpy()  # (T, P)
    assert numpy_raw.shape == torch_raw.shape == (1000, net.spec.mixture.params)
    assert np.abs(numpy_raw - torch_raw).max() <= 1e-5
    assert np.abs(np.diff(torch_raw, axis=0)).max() > 0.1  # the outputs really vary


def test_weights_round_trip_through_the_torch_model() -> None:
    net, _ = _torch_model(2, 16, seed=0)
    weights = net.to_weights()
    again = MDRNN.from_model_file(ModelFile(net.spec, weights)).to_weights()
    assert weights.keys() == again.keys() == net.spec.tensor_shapes().keys()
    for name, value in weights.items():
        assert value.shape == net.spec.tensor_shapes()[name]
        np.testing.assert_allclose(again[name], value, atol=1e-7)
