"""The dense MDRNN at performance time (NumPy only, never torch): kind ``dense``.

``DenseModel`` is the immutable part (the fused weights, shared by every voice made from it);
``DenseVoice`` one performer's state on it. ``voice.observe(event)`` feeds one data-space event
``(dt, x1..xN)`` to the network and returns the raw mixture parameters of the *next* event
(layout: ``foretell.model.mixture``); ``voice.sample(raw, pi_temp, sigma_temp)`` draws that next
event in the data space (dt > 0, controls in [0, 1]); ``reset()`` zeroes the LSTM state.
``model.step(voices, events)`` steps any number of voices in one matrix product per layer. The
contract both keep is ``foretell.model.protocol``.

Speed: one step is a handful of NumPy calls on preallocated float32 buffers. The hidden states of
all layers sit side by side in one vector ``[x, h1, h2, ...]``, so layer ``l`` reads its input and
its previous state as one contiguous slice and needs one matrix product. The gates are reordered
to (i, f, o, g) and the sigmoid gates' weights pre-scaled by 1/2, so one ``tanh`` over all gates
serves: ``sigmoid(a) = (1 + tanh(a/2)) / 2``. Random numbers are drawn from the seeded generator
in blocks. The same cell (``_forward``) runs one voice's vectors or N voices' stacked rows
``(N, width)``: for N voices each layer costs one ``(N, In+H) @ (In+H, 4H)`` product instead of N
vector products.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from foretell.model import constraints as steering
from foretell.model.constraints import Constraints
from foretell.model.draws import RandomBlocks
from foretell.model.expectation import expectation
from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.mixture import log_density, sample_net
from foretell.model.protocol import Kind, Voice

MIN_BATCH = 4  # fewer voices than this step one by one: stacking costs more than one product saves

# per layer: inputs, hidden, cell, sigmoid gates (i, f, o), i, f, o, g; for one voice or N rows
LayerViews = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]


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
    return _frozen(np.ascontiguousarray(matrix, dtype=np.float32)), _frozen(bias.astype(np.float32))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


V = TypeVar("V", bound=Voice)


def own_voices(model: object, voices: Sequence[Voice], kind: type[V]) -> list[V]:
    """``voices`` as ``model``'s own voices of type ``kind``; ``ValueError`` for any other."""
    own = [v for v in voices if isinstance(v, kind) and v.model is model]
    if len(own) != len(voices):
        raise ValueError(f"{type(model).__name__}.step takes only voices of this model")
    return own


def step_voices(
    voices: Sequence[V],
    events: Sequence[np.ndarray],
    together: Callable[[Sequence[V], Sequence[np.ndarray]], None],
) -> None:
    """Each voice observes its event: one by one below ``MIN_BATCH`` voices, else ``together``."""
    if len(voices) < MIN_BATCH:
        for voice, event in zip(voices, events, strict=True):
            voice.observe(event)
        return
    together(voices, events)


def _layer_views(
    spec: ModelSpec, buffer: np.ndarray, cells: np.ndarray, gates: np.ndarray
) -> list[LayerViews]:
    """Views of one layer's slices in ``buffer (..., D + L*H)``, ``cells (..., L, H)`` and
    ``gates (..., 4H)``: one voice's vectors or N voices' rows alike."""
    d, h = spec.input_dimension, spec.units
    views = []
    for layer in range(spec.layers):
        start = 0 if layer == 0 else d + (layer - 1) * h
        width = (d if layer == 0 else h) + h
        views.append(
            (
                buffer[..., start : start + width],
                buffer[..., start + width - h : start + width],
                cells[..., layer, :],
                gates[..., : 3 * h],
                gates[..., :h],
                gates[..., h : 2 * h],
                gates[..., 2 * h : 3 * h],
                gates[..., 3 * h :],
            )
        )
    return views


class DenseModel:
    """A dense MDRNN's fused weights: immutable, shared by every voice made from it."""

    kind = "dense"

    def __init__(self, file: ModelFile[ModelSpec]) -> None:
        spec = file.spec
        self.file = file
        self.spec: ModelSpec = spec
        k, d = spec.mixtures, spec.dimension
        self.layers = tuple(
            _fused_layer(file.weights, layer, spec.units) for layer in range(spec.layers)
        )
        self.head_w = _frozen(np.ascontiguousarray(file.weights["head.weight"].T, dtype=np.float32))
        self.head_b = _frozen(file.weights["head.bias"].astype(np.float32))
        self.sigma = slice(k * d, 2 * k * d)
        self.in_loc = _frozen(np.asarray(spec.transform.loc, dtype=np.float64))
        self.in_scale = _frozen(np.asarray(spec.transform.scale, dtype=np.float64))

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def voice(self, rng: np.random.Generator | None = None) -> DenseVoice:
        return DenseVoice(self, rng)

    # -- the step, for one voice or many --------------------------------------------------------

    def encode(self, event: np.ndarray, out: np.ndarray) -> None:
        """The event in the network's input space, written to ``out (D,)``."""
        transform = self.spec.transform
        u = np.array(event, dtype=np.float64)
        if transform.dt_kind == "log":
            u[0] = math.log(max(u[0], 0.0) + transform.dt_offset)
        out[:] = (u - self.in_loc) / self.in_scale

    def forward(
        self, views: list[LayerViews], scratch: np.ndarray, raw: np.ndarray, gates: np.ndarray
    ) -> None:
        """The LSTM cell on every layer, then the head into ``raw (..., P)``: one voice's
        vectors or N voices' rows (the views of ``_layer_views``; ``scratch (..., H)``)."""
        for (matrix, bias), (inputs, hidden, cell, sig, i_gate, f_gate, o_gate, g_gate) in zip(
            self.layers, views, strict=True
        ):
            np.dot(inputs, matrix, out=gates)
            gates += bias
            np.tanh(gates, out=gates)
            sig *= 0.5
            sig += 0.5  # i, f, o are now sigmoids; g stays tanh
            cell *= f_gate
            np.multiply(i_gate, g_gate, out=scratch)
            cell += scratch
            np.tanh(cell, out=scratch)
            np.multiply(o_gate, scratch, out=hidden)
        np.dot(views[-1][1], self.head_w, out=raw)
        raw += self.head_b
        self._activate_sigma(raw[..., self.sigma])

    def _activate_sigma(self, sigma: np.ndarray) -> None:
        if self.spec.sigma_activation == "softplus":
            np.logaddexp(sigma, 0.0, out=sigma)
            sigma += self.spec.sigma_min
        else:  # elu(a) + 1 + eps
            negative = sigma < 0
            sigma[negative] = np.expm1(sigma[negative])
            sigma += 1.0 + self.spec.sigma_min

    def step(self, voices: Sequence[Voice], events: Sequence[np.ndarray]) -> None:
        """Condition ``voices[i]`` on ``events[i]``, each as its own ``observe`` would (to float32
        rounding), in one product per layer from ``MIN_BATCH`` voices on."""
        own = own_voices(self, voices, DenseVoice)
        step_voices(own, events, lambda vs, es: step_together(self, vs, es))

    # -- scoring, swapping, displays ------------------------------------------------------------

    def log_likelihood(
        self, predictions: np.ndarray, events: np.ndarray, constraints: Constraints | None = None
    ) -> np.ndarray:
        """Data-space ``log p(events[i])`` (nats) under ``predictions[i]``; batches ``(..., P)``.
        Under active ``constraints``: ``-inf`` outside a range (``foretell.model.constraints``)."""
        spec = self.spec
        if constraints is None or not constraints.active:
            z = spec.transform.to_net(events)
            log_p = log_density(spec.mixture, predictions, z, spec.floor_weight, spec.floor_sigma)
            return log_p + spec.transform.log_abs_det_jacobian(events)
        plan = steering.plan(spec, constraints)
        return np.array(
            [
                steering.log_likelihood(spec, raw, event, plan)
                for raw, event in zip(predictions, events, strict=True)
            ]
        )

    def carries_state(self, other: Any) -> bool:
        """A voice of ``other`` takes this model's LSTM state when layers and units match."""
        return isinstance(other, DenseModel) and (self.spec.layers, self.spec.units) == (
            other.spec.layers,
            other.spec.units,
        )

    def reads_prediction(self, other: Any) -> bool:
        """Raw parameters of ``other`` are this model's when mixtures and dimension match."""
        return isinstance(other, DenseModel) and (self.spec.mixtures, self.dimension) == (
            other.spec.mixtures,
            other.dimension,
        )

    def describe(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "dimension": spec.dimension,
            "layers": spec.layers,
            "units": spec.units,
            "mixtures": spec.mixtures,
            "params": spec.parameter_count(),
        }

    def expected(
        self,
        prediction: np.ndarray,
        pi_temp: float,
        sigma_temp: float,
        activity_temp: float = 1.0,
    ) -> dict[str, Any]:
        return expectation(self.spec, prediction, pi_temp, sigma_temp)


def step_together(
    model: DenseModel, voices: Sequence[DenseVoice], events: Sequence[np.ndarray]
) -> None:
    """``voices`` (all of ``model``) conditioned on ``events`` with their states stacked into rows:
    one ``forward`` for all of them, each voice then holding its new state and parameters."""
    spec = model.spec
    for voice, event in zip(voices, events, strict=True):
        model.encode(event, voice._buffer[: spec.dimension])
    buffers = np.stack([v._buffer for v in voices])  # (N, D + L*H)
    cells = np.stack([v._cells for v in voices])  # (N, L, H)
    gates = np.empty((len(voices), 4 * spec.units), dtype=np.float32)
    scratch = np.empty((len(voices), spec.units), dtype=np.float32)
    raw = np.empty((len(voices), spec.mixture.params), dtype=np.float32)
    model.forward(_layer_views(spec, buffers, cells, gates), scratch, raw, gates)
    for i, voice in enumerate(voices):
        voice._buffer[:] = buffers[i]
        voice._cells[:] = cells[i]
        voice.prediction[:] = raw[i]


class DenseVoice:
    """One performer on a ``DenseModel``: its LSTM state, output buffer and generator."""

    def __init__(self, model: DenseModel, rng: np.random.Generator | None = None) -> None:
        spec = model.spec
        self.model = model
        self.spec: ModelSpec = spec
        self.rng = rng if rng is not None else np.random.default_rng()
        d, h = spec.dimension, spec.units
        # [x (D), h_1 (H), ..., h_L (H)]: layer l reads buf[start_l : start_l + In_l + H].
        self._buffer = np.zeros(d + spec.layers * h, dtype=np.float32)
        self._cells = np.zeros((spec.layers, h), dtype=np.float32)
        self._gates = np.zeros(4 * h, dtype=np.float32)
        self._scratch = np.zeros(h, dtype=np.float32)
        self.prediction = np.zeros(spec.mixture.params, dtype=np.float32)
        self._views = _layer_views(spec, self._buffer, self._cells, self._gates)
        self._input = self._buffer[:d]
        self._draws = RandomBlocks(self.rng, None, spec.dimension)
        self._planned: tuple[Constraints, steering.Plan] | None = None

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything played so far (zero LSTM state)."""
        self._buffer[:] = 0.0
        self._cells[:] = 0.0

    def get_state(self) -> LSTMState:
        d, h, layers = self.spec.dimension, self.spec.units, self.spec.layers
        return LSTMState(self._buffer[d:].reshape(layers, h).copy(), self._cells.copy())

    def set_state(self, state: object) -> None:
        if not isinstance(state, LSTMState):
            raise TypeError(f"a dense voice takes an LSTMState, not {type(state).__name__}")
        d = self.spec.dimension
        self._buffer[d:] = state.hidden.reshape(-1)
        self._cells[:] = state.cell

    # -- the step ------------------------------------------------------------------------------

    def observe(self, event: np.ndarray) -> np.ndarray:
        """Condition on ``event`` (data space) and return the raw parameters of the next event.

        The returned array (``prediction``) is reused by the next call; copy it to keep it.
        """
        model = self.model
        model.encode(event, self._input)
        model.forward(self._views, self._scratch, self.prediction, self._gates)
        return self.prediction

    # -- sampling ------------------------------------------------------------------------------

    def _draw(self) -> tuple[float, list[float]]:
        return self._draws.next()

    def sample(
        self,
        prediction: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        """Draw the next event (data space) from ``prediction``; see ``mixture`` for the
        temperatures and ``constraints`` for ranges, held values, control temperatures and a dt
        range. ``activity_temp`` does nothing here: a dense event moves every control."""
        uniform, normal = self._draw()
        transform = self.spec.transform
        if constraints is None or not constraints.active:
            z = sample_net(self.spec.mixture, prediction, pi_temp, sigma_temp, uniform, normal)
            return np.array(transform.event_from_net(z))
        plan = self._plan_for(constraints)
        z = steering.sample_net(self.spec, prediction, plan, pi_temp, sigma_temp, uniform, normal)
        return np.array(steering.exact(transform.event_from_net(z), constraints))

    def predict(
        self,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        """Draw the next event from the latest ``observe``'s prediction."""
        return self.sample(self.prediction, pi_temp, sigma_temp, constraints)

    def _plan_for(self, constraints: Constraints) -> steering.Plan:
        """The constraints in this model's network space (kept while the same object is used)."""
        if self._planned is None or self._planned[0] is not constraints:
            self._planned = (constraints, steering.plan(self.spec, constraints))
        return self._planned[1]


def _read_spec(data: Any) -> ModelSpec:
    return ModelSpec.from_dict(data)


def _build(file: ModelFile) -> DenseModel:
    return DenseModel(file)


KIND = Kind("dense", read_spec=_read_spec, build=_build)
