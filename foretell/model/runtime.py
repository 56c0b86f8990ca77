"""NumPy inference: a stateful one-step MDRNN for performance. Never imports torch.

``Runtime.predict(event)`` feeds one data-space event ``(dt, x1..xN)`` to the network and returns
the raw mixture parameters of the *next* event (layout: ``foretell.model.mixture``).
``Runtime.sample(raw, pi_temp, sigma_temp)`` draws that next event in the data space (dt > 0,
controls in [0, 1]). ``reset()`` zeroes the LSTM state.

Speed: one step is a handful of NumPy calls on preallocated float32 buffers. The hidden states of
all layers sit side by side in one vector ``[x, h1, h2, ...]``, so layer ``l`` reads its input and
its previous state as one contiguous slice and needs one matrix product. The gates are reordered
to (i, f, o, g) and the sigmoid gates' weights pre-scaled by 1/2, so one ``tanh`` over all gates
serves: ``sigmoid(a) = (1 + tanh(a/2)) / 2``. Random numbers are drawn from the seeded generator
in blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foretell.errors import ModelFileError
from foretell.model import constraints as steering
from foretell.model.constraints import Constraints
from foretell.model.fileformat import ModelFile, ModelSpec, load_model
from foretell.model.mixture import log_density, sample_net

RANDOM_BLOCK = 1024


@dataclass
class LSTMState:
    """A copy of the recurrent state (hidden and cell vectors of every layer)."""

    hidden: np.ndarray  # (layers, units)
    cell: np.ndarray  # (layers, units)


def _fused_layer(
    weights: dict[str, np.ndarray], layer: int, units: int
) -> tuple[np.ndarray, np.ndarray]:
    """``[W_ih | W_hh]^T`` with gates reordered i,f,g,o -> i,f,o,g and sigmoid gates halved."""
    h = units
    order = np.r_[0 : 2 * h, 3 * h : 4 * h, 2 * h : 3 * h]  # i, f, o, g
    halve = np.r_[np.full(3 * h, 0.5), np.ones(h)]
    fused = np.concatenate(
        [weights[f"lstm.{layer}.weight_ih"], weights[f"lstm.{layer}.weight_hh"]], 1
    )
    matrix = (fused[order].astype(np.float64) * halve[:, None]).T
    bias = weights[f"lstm.{layer}.bias"][order].astype(np.float64) * halve
    return np.ascontiguousarray(matrix, dtype=np.float32), bias.astype(np.float32)


class Runtime:
    """One performer's model: weights (shareable) plus its own recurrent state and generator."""

    def __init__(self, model: ModelFile, rng: np.random.Generator | None = None) -> None:
        spec = model.spec
        if spec.controls is not None and type(self) is Runtime:
            raise ModelFileError(
                "this is a moves model: build its runtime with foretell.model.moves.runtime_for"
            )
        self.model = model
        self.spec: ModelSpec = spec
        self.rng = rng if rng is not None else np.random.default_rng()
        d, h, k = spec.input_dimension, spec.units, spec.mixtures
        gaussians = spec.dimension if spec.layout is None else spec.layout.gaussians
        self._fused = [_fused_layer(model.weights, layer, h) for layer in range(spec.layers)]
        self._head_w = np.ascontiguousarray(model.weights["head.weight"].T, dtype=np.float32)
        self._head_b = model.weights["head.bias"].astype(np.float32)
        # [x (D), h_1 (H), ..., h_L (H)]: layer l reads buf[start_l : start_l + In_l + H].
        self._buffer = np.zeros(d + spec.layers * h, dtype=np.float32)
        self._cells = np.zeros((spec.layers, h), dtype=np.float32)
        self._gates = np.zeros(4 * h, dtype=np.float32)
        self._scratch = np.zeros(h, dtype=np.float32)
        self._raw = np.zeros(spec.head_params, dtype=np.float32)
        self._sigma = slice(k * gaussians, 2 * k * gaussians)
        self._views = self._layer_views()
        transform = spec.transform
        self._in_loc = np.asarray(transform.loc, dtype=np.float64)
        self._in_scale = np.asarray(transform.scale, dtype=np.float64)
        self._uniforms: list[float] = []
        self._normals: list[list[float]] = []
        self._next_random = 0
        self._planned: tuple[Constraints, steering.Plan] | None = None

    def _layer_views(
        self,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        d, h = self.spec.input_dimension, self.spec.units
        views = []
        for layer in range(self.spec.layers):
            start = 0 if layer == 0 else d + (layer - 1) * h
            width = (d if layer == 0 else h) + h
            inputs = self._buffer[start : start + width]
            hidden = self._buffer[start + width - h : start + width]
            g = self._gates
            views.append((inputs, hidden, self._cells[layer], g[: 3 * h], g[:h], g[2 * h : 3 * h]))
        return views

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything played so far (zero LSTM state)."""
        self._buffer[:] = 0.0
        self._cells[:] = 0.0

    def get_state(self) -> LSTMState:
        d, h, layers = self.spec.input_dimension, self.spec.units, self.spec.layers
        return LSTMState(self._buffer[d:].reshape(layers, h).copy(), self._cells.copy())

    def set_state(self, state: LSTMState) -> None:
        d = self.spec.input_dimension
        self._buffer[d:] = state.hidden.reshape(-1)
        self._cells[:] = state.cell

    # -- the step ------------------------------------------------------------------------------

    def _encode_input(self, event: np.ndarray) -> None:
        transform = self.spec.transform
        u = np.array(event, dtype=np.float64)
        if transform.dt_kind == "log":
            u[0] = math.log(max(u[0], 0.0) + transform.dt_offset)
        self._buffer[: self.spec.dimension] = (u - self._in_loc) / self._in_scale

    def predict(self, event: np.ndarray) -> np.ndarray:
        """Condition on ``event`` (data space) and return the raw parameters of the next event.

        The returned array is reused by the next call; copy it to keep it.
        """
        self._encode_input(event)
        h = self.spec.units
        gates, scratch = self._gates, self._scratch
        for (matrix, bias), (inputs, hidden, cell, sig, i_gate, o_gate) in zip(
            self._fused, self._views, strict=True
        ):
            np.dot(inputs, matrix, out=gates)
            gates += bias
            np.tanh(gates, out=gates)
            sig *= 0.5
            sig += 0.5  # i, f, o are now sigmoids; g stays tanh
            cell *= gates[h : 2 * h]
            np.multiply(i_gate, gates[3 * h :], out=scratch)
            cell += scratch
            np.tanh(cell, out=scratch)
            np.multiply(o_gate, scratch, out=hidden)
        raw = self._raw
        np.dot(self._views[-1][1], self._head_w, out=raw)
        raw += self._head_b
        self._activate_sigma(raw[self._sigma])
        return raw

    def _activate_sigma(self, sigma: np.ndarray) -> None:
        if self.spec.sigma_activation == "softplus":
            np.logaddexp(sigma, 0.0, out=sigma)
            sigma += self.spec.sigma_min
        else:  # elu(a) + 1 + eps
            negative = sigma < 0
            sigma[negative] = np.expm1(sigma[negative])
            sigma += 1.0 + self.spec.sigma_min

    # -- sampling and scoring ------------------------------------------------------------------

    def _draw(self) -> tuple[float, list[float]]:
        if self._next_random >= len(self._uniforms):
            self._uniforms = self.rng.random(RANDOM_BLOCK).tolist()
            self._normals = self.rng.standard_normal((RANDOM_BLOCK, self.spec.dimension)).tolist()
            self._next_random = 0
        i = self._next_random
        self._next_random += 1
        return self._uniforms[i], self._normals[i]

    def sample(
        self,
        raw: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
    ) -> np.ndarray:
        """Draw the next event (data space) from ``raw``; see ``mixture`` for the temperatures
        and ``constraints`` for ranges, held values, control temperatures and a dt range."""
        uniform, normal = self._draw()
        transform = self.spec.transform
        if constraints is None or not constraints.active:
            z = sample_net(self.spec.mixture, raw, pi_temp, sigma_temp, uniform, normal)
            return np.array(transform.event_from_net(z))
        plan = self._plan_for(constraints)
        z = steering.sample_net(self.spec, raw, plan, pi_temp, sigma_temp, uniform, normal)
        return np.array(steering.exact(transform.event_from_net(z), constraints))

    def _plan_for(self, constraints: Constraints) -> steering.Plan:
        """The constraints in this model's network space (kept while the same object is used)."""
        if self._planned is None or self._planned[0] is not constraints:
            self._planned = (constraints, steering.plan(self.spec, constraints))
        return self._planned[1]

    def log_likelihood(self, raw: np.ndarray, event: np.ndarray) -> np.ndarray:
        """Data-space ``log p(event)`` (nats) under ``raw``; works on batches ``(..., P)``."""
        spec = self.spec
        z = spec.transform.to_net(event)
        log_p = log_density(spec.mixture, raw, z, spec.floor_weight, spec.floor_sigma)
        return log_p + spec.transform.log_abs_det_jacobian(event)


def load_runtime(path: str | Path, seed: int | None = None) -> Runtime:
    """Load a model file and build its runtime with a generator seeded by ``seed``."""
    return Runtime(load_model(path), np.random.default_rng(seed))
