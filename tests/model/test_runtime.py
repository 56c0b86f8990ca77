"""The optimised NumPy runtime against a plain float64 LSTM written from the textbook equations."""

from pathlib import Path

import numpy as np

from foretell.model.fileformat import ModelFile, save_model
from foretell.model.protocol import load_voice
from foretell.model.random import random_model
from foretell.model.runtime import DenseModel
from tests.fixtures import bundled_performances


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def reference_outputs(model: ModelFile, events: np.ndarray) -> np.ndarray:
    """Raw mixture parameters after each event, float64, no tricks."""
    spec, w = model.spec, {k: v.astype(np.float64) for k, v in model.weights.items()}
    h = [np.zeros(spec.units) for _ in range(spec.layers)]
    c = [np.zeros(spec.units) for _ in range(spec.layers)]
    z_all = spec.transform.to_net(events).astype(np.float64)
    n = spec.units
    out = []
    for z in z_all:
        x = z
        for layer in range(spec.layers):
            a = w[f"lstm.{layer}.weight_ih"] @ x + w[f"lstm.{layer}.weight_hh"] @ h[layer]
            a += w[f"lstm.{layer}.bias"]
            i, f, g, o = (
                sigmoid(a[:n]),
                sigmoid(a[n : 2 * n]),
                np.tanh(a[2 * n : 3 * n]),
                sigmoid(a[3 * n :]),
            )
            c[layer] = f * c[layer] + i * g
            h[layer] = o * np.tanh(c[layer])
            x = h[layer]
        raw = w["head.weight"] @ x + w["head.bias"]
        k, d = spec.mixtures, spec.dimension
        raw[k * d : 2 * k * d] = np.logaddexp(raw[k * d : 2 * k * d], 0) + spec.sigma_min
        out.append(raw)
    return np.array(out)


def test_runtime_matches_a_plain_float64_lstm_over_real_data() -> None:
    model = random_model(units=32, layers=3)
    runtime = DenseModel(model).voice()
    events = np.concatenate(bundled_performances(300))
    got = np.array([runtime.observe(e).copy() for e in events])
    np.testing.assert_allclose(got, reference_outputs(model, events), atol=2e-5)


def test_reset_and_state_round_trip() -> None:
    runtime = DenseModel(random_model()).voice()
    events = bundled_performances(50)[0]
    first = [runtime.observe(e).copy() for e in events]
    runtime.reset()
    again = [runtime.observe(e).copy() for e in events]
    np.testing.assert_array_equal(first, again)
    state = runtime.get_state()
    after = runtime.observe(events[0]).copy()
    runtime.observe(events[1])
    runtime.set_state(state)
    np.testing.assert_array_equal(runtime.observe(events[0]), after)


def test_seeded_runtimes_sample_the_same_performance(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.ftm", random_model())

    def play(seed: int) -> np.ndarray:
        runtime = load_voice(path, seed=seed)
        event, out = np.array([0.02, 0.5, 0.5, 0.5]), []
        for _ in range(100):
            event = runtime.sample(runtime.observe(event))
            out.append(event)
        return np.array(out)

    np.testing.assert_array_equal(play(7), play(7))
    assert not np.array_equal(play(7), play(8))
