"""The model case of IMPSY's conformance vectors (``spec/vectors/model.json``).

The case's expected values come from IMPSY's committed fixed-weight ``.tflite``, which is not
vendored here (a binary; ``spec/SOURCE.md``). Where it is present (``spec/models/``) the case runs
as written; otherwise the same steps, temperatures and uniform draws run on a fixed-weight model
of our own (Keras arrays from a seeded generator, of the case's shape), imported the way an IMPSY
model is (``foretell.impsy.convert``), and foretell's runtime and sampling are checked against
IMPSY's conventions written out independently below (``impsy_reference``): the input times 10
(SCALE_FACTOR), Keras' LSTM (gates i, f, c, o; each state carried to the next step), the MDN
output ``[mu (K x D), sigma = elu + 1 + 1e-7 (K x D), pi logits (K)]``,
``pi = softmax(logits / pi_temp)``, the component chosen as the first whose cumulative pi reaches
the draw, ``std = sigma * sqrt(sigma_temp)``, everything divided by 10 back, and a reset
zeroing the state.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from foretell.impsy.architecture import IMPSY_SCALE_FACTOR, from_shapes
from foretell.impsy.convert import impsy_spec, to_foretell
from foretell.impsy.h5_layouts import KerasWeights
from foretell.model.fileformat import ModelFile
from foretell.model.mixture import sample_net
from foretell.model.runtime import DenseModel, DenseVoice
from tests.impsy import conformance as run

(CASE,) = run.cases("model")
TOLERANCE = run.vector_file("model")["tolerance"]
SEED = 20260926


def keras_arrays(dimension: int, layers: int, units: int, mixtures: int) -> KerasWeights:
    """Fixed weights in Keras' layout (seeded), small enough that no gate saturates."""
    rng = np.random.default_rng(SEED)
    lstm = []
    for layer in range(layers):
        width = dimension if layer == 0 else units
        lstm.append(
            (
                rng.normal(0, 0.3, (width, 4 * units)),
                rng.normal(0, 0.3, (units, 4 * units)),
                rng.normal(0, 0.1, 4 * units),
            )
        )
    k, d = mixtures, dimension
    head = {
        "mus": (rng.normal(0, 0.5, (units, k * d)), rng.normal(0, 0.5, k * d)),
        "sigmas": (rng.normal(0, 0.5, (units, k * d)), rng.normal(0, 0.5, k * d)),
        "pis": (rng.normal(0, 0.8, (units, k)), rng.normal(0, 0.3, k)),
    }
    as32 = [tuple(a.astype(np.float32) for a in arrays) for arrays in lstm]
    head32 = {name: (w.astype(np.float32), b.astype(np.float32)) for name, (w, b) in head.items()}
    return KerasWeights(tuple(as32), head32, "conformance test")  # type: ignore[arg-type]


# -- IMPSY's conventions, written out (float64) ------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


class ImpsyReference:
    """An IMPSY MDRNN step by its conventions, on Keras arrays."""

    def __init__(self, weights: KerasWeights, mixtures: int, dimension: int) -> None:
        self.weights = weights
        self.k, self.d = mixtures, dimension
        self.reset()

    def reset(self) -> None:
        units = self.weights.lstm[0][1].shape[0]
        self.h = [np.zeros(units) for _ in self.weights.lstm]
        self.c = [np.zeros(units) for _ in self.weights.lstm]

    def step(self, vector: list[float]) -> dict[str, Any]:
        x = np.array(vector, dtype=np.float32).astype(np.float64) * IMPSY_SCALE_FACTOR
        model_input = x.copy()
        for layer, (kernel, recurrent, bias) in enumerate(self.weights.lstm):
            z = x @ kernel + self.h[layer] @ recurrent + bias
            i, f, g, o = np.split(z, 4)
            self.c[layer] = _sigmoid(f) * self.c[layer] + _sigmoid(i) * np.tanh(g)
            self.h[layer] = _sigmoid(o) * np.tanh(self.c[layer])
            x = self.h[layer]
        head = self.weights.head
        mu = x @ head["mus"][0] + head["mus"][1]
        a = x @ head["sigmas"][0] + head["sigmas"][1]
        sigma = np.where(a > 0, a, np.expm1(np.minimum(a, 0))) + 1.0 + 1e-7
        logits = x @ head["pis"][0] + head["pis"][1]
        return {"model_input": model_input, "mdn_output": np.concatenate([mu, sigma, logits])}

    def mixture(self, mdn_output: np.ndarray, pi_temp: float, sigma_temp: float) -> dict[str, Any]:
        k, d = self.k, self.d
        logits = mdn_output[2 * k * d :] / pi_temp
        pi = np.exp(logits - logits.max())
        pi /= pi.sum()
        mu = mdn_output[: k * d].reshape(k, d) / IMPSY_SCALE_FACTOR
        sigma = mdn_output[k * d : 2 * k * d].reshape(k, d)
        std = sigma * math.sqrt(sigma_temp) / IMPSY_SCALE_FACTOR
        return {"pi": pi, "mu": mu, "std": std}

    @staticmethod
    def choose(pi: np.ndarray, draw: float) -> int:
        total = 0.0
        for index, weight in enumerate(pi):
            total += weight
            if total >= draw:
                return index
        return len(pi) - 1


# -- foretell, through an IMPSY import ---------------------------------------------------------


def foretell_steps(runtime: DenseVoice, case: dict[str, Any]) -> list[dict[str, Any] | None]:
    """Each step as foretell performs it, in the vector's units (``None`` for a reset)."""
    spec = runtime.spec
    k, d = spec.mixtures, spec.dimension
    scale = np.array(spec.transform.scale)
    found: list[dict[str, Any] | None] = []
    for step in case["steps"]:
        if step.get("reset"):
            runtime.reset()
            found.append(None)
            continue
        event = np.array(step["input"])
        model_input = np.asarray(spec.transform.to_net(event))
        raw = np.array(runtime.observe(event), dtype=np.float64)
        mu = spec.mixture.split(raw)[0]
        mixture, means, spreads = [], [], []
        for draw in case["uniform_draws"]:
            mean = sample_net(
                spec.mixture, raw, case["pi_temp"], case["sigma_temp"], draw, [0.0] * d
            )
            one = sample_net(
                spec.mixture, raw, case["pi_temp"], case["sigma_temp"], draw, [1.0] * d
            )
            chosen = [j for j in range(k) if np.allclose(mu[j], mean, atol=1e-6)]
            mixture.append(chosen[0])
            means.append(np.array(mean) * scale)
            spreads.append((np.array(one) - np.array(mean)) * scale)
        found.append(
            {
                "model_input": model_input,
                "mdn_output": raw,
                "mixture_for_draw": mixture,
                "mu_drawn": means,
                "std_drawn": spreads,
            }
        )
    return found


def own_model() -> tuple[DenseVoice, ImpsyReference]:
    shape = CASE["expected"]["introspected"]
    weights = keras_arrays(shape["dimension"], shape["layers"], shape["units"], shape["mixtures"])
    arch = from_shapes(shape["dimension"], shape["layers"], shape["units"], shape["mixtures"])
    model = ModelFile(impsy_spec(arch, IMPSY_SCALE_FACTOR), to_foretell(weights))
    reference = ImpsyReference(weights, shape["mixtures"], shape["dimension"])
    return DenseModel(model).voice(np.random.default_rng(0)), reference


def test_fixed_weight_model_follows_impsys_conventions() -> None:
    runtime, reference = own_model()
    shape = CASE["expected"]["introspected"]
    spec = runtime.spec
    assert (spec.dimension, spec.units, spec.mixtures, spec.layers) == (
        shape["dimension"],
        shape["units"],
        shape["mixtures"],
        shape["layers"],
    )
    found = foretell_steps(runtime, CASE)
    assert len(found) == len(CASE["steps"]) == len(CASE["expected"]["steps"])
    for step, got, expected in zip(CASE["steps"], found, CASE["expected"]["steps"], strict=True):
        if step.get("reset"):
            assert got is None and expected is None
            reference.reset()
            continue
        assert got is not None
        want = reference.step(step["input"])
        mixture = reference.mixture(want["mdn_output"], CASE["pi_temp"], CASE["sigma_temp"])
        np.testing.assert_allclose(got["model_input"], want["model_input"], atol=1e-6)
        np.testing.assert_allclose(got["mdn_output"], want["mdn_output"], atol=1e-4)
        draws = [reference.choose(mixture["pi"], u) for u in CASE["uniform_draws"]]
        assert got["mixture_for_draw"] == draws
        for k, mean, spread in zip(draws, got["mu_drawn"], got["std_drawn"], strict=True):
            np.testing.assert_allclose(mean, mixture["mu"][k], atol=1e-5)
            np.testing.assert_allclose(spread, mixture["std"][k], atol=1e-5)
    # the reset step: the step after it is the first step again
    again = foretell_steps(own_model()[0], CASE)
    first, after_reset = again[0], again[5]
    assert first is not None and after_reset is not None
    np.testing.assert_allclose(after_reset["mdn_output"], first["mdn_output"], atol=1e-6)


def test_case_draws_several_components() -> None:
    """The draws of the case pick more than one component on our model (so the choice rule is
    tested, not one component every time)."""
    runtime, _ = own_model()
    steps = [step for step in foretell_steps(runtime, CASE) if step is not None]
    picks = {k for step in steps for k in step["mixture_for_draw"]}
    assert len(picks) >= 3


COMMITTED = run.SPEC / CASE["model_file"]


@pytest.mark.skipif(not COMMITTED.is_file(), reason=f"IMPSY's {COMMITTED.name} is not vendored")
def test_committed_tflite_matches_the_vector() -> None:  # pragma: no cover - needs the file
    from foretell.impsy.keras_import import import_impsy_model

    runtime = DenseModel(import_impsy_model(Path(COMMITTED)).model).voice(np.random.default_rng(0))
    found = foretell_steps(runtime, CASE)
    for got, want in zip(found, CASE["expected"]["steps"], strict=True):
        if got is None or want is None:
            assert got is want
            continue
        run.assert_matches(got["model_input"].tolist(), want["model_input"], TOLERANCE)
        run.assert_matches(got["mdn_output"].tolist(), want["mdn_output"], TOLERANCE)
        assert got["mixture_for_draw"] == want["mixture_for_draw"]
        for k, mean, spread in zip(
            want["mixture_for_draw"], got["mu_drawn"], got["std_drawn"], strict=True
        ):
            run.assert_matches(mean.tolist(), want["mu"][k], TOLERANCE)
            run.assert_matches(spread.tolist(), want["std"][k], TOLERANCE)
