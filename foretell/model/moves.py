"""The moves model at performance time (NumPy only): which controls move, and their values.

A moves model (kind ``moves``, ``MovesSpec``; ``foretell.model.control_kinds`` for the kinds,
patterns and the head's layout) is the dense MDRNN's LSTM with a wider input and another head.
``MovesModel`` and ``MovesVoice`` implement ``foretell.model.protocol`` (the dense model's LSTM
step, ``DenseModel.forward``, does the recurrent work):

- ``observe(event)`` also feeds which discrete controls moved since the last event, and its
  prediction carries the head's output followed by the event itself;
- ``sample(prediction, pi_temp, sigma_temp)`` draws the component and the moving set together,
  dt and continuous controls from the component's Gaussians, each moving grid control on its
  grid (its previous cell left out), each moving set control from its categorical (its previous
  value left out); every other control keeps its previous value exactly;
- ``MovesModel.log_likelihood`` is the density of ``foretell.model.torch_moves`` (the training
  loss), in the data space on the common basis (``foretell.model.basis``).

Temperatures: π-temperature divides the logits of every discrete choice (the component with its
moving set, and a set control's value; 0 takes the most likely), so it also sharpens which
controls move; σ-temperature (times a control's own ``controltemp``) multiplies the spreads of dt,
the continuous controls and the grid controls' logistics by its square root (0 gives the mode's
cell, the nearest other cell when that is the previous one); it does not touch which controls
move or a set's categorical. The activity temperature (``tempered_moves``) tempers only which
controls move: each component's distribution over moving sets is raised to ``1 / T`` and
renormalised, the component's weight kept (0: each component's likeliest set; above 1 the sets
the model thinks rarer come more often, so on a knob box more events move none or several).

Constraints: a held discrete control never moves (the moving sets that move it are taken out of
the draw, an exact conditioning) and keeps the held value; a range on a grid or set control
truncates it to the cells inside (a moving control is redrawn, else put on the nearest allowed
cell; one that stays outside is moved to the nearest allowed cell); holds and ranges on dt and
continuous controls are set and clipped after the draw.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np

from foretell.errors import ConfigError
from foretell.model import constraints as steering
from foretell.model.basis import LOG_2PI, cell_bounds, density_jacobian, log1mexp
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import (
    MovesLayout,
    cell_indices,
    moved,
    pattern_codes,
)
from foretell.model.draws import RandomBlocks
from foretell.model.expectation import MIN_WEIGHT, _dt_from_u, mixture_weights
from foretell.model.fileformat import ModelFile, ModelSpec
from foretell.model.mixture import choose_component, log_softmax
from foretell.model.moves_spec import KIND_NAME, MovesSpec, relative_centres, relative_gates
from foretell.model.protocol import Kind, Voice
from foretell.model.runtime import (
    DenseModel,
    LSTMState,
    _layer_views,
    own_voices,
    step_voices,
)

REDRAWS = 32  # tries to leave the previous cell before taking the nearest other cell
_ALMOST_ONE = 1.0 - 1e-12


def layout_of(spec: ModelSpec) -> MovesLayout:
    layout = spec.layout
    if layout is None:
        raise ValueError("a dense model has no moves layout")
    return layout


def pair_log_likelihood(
    spec: ModelSpec, raw: np.ndarray, before: np.ndarray, events: np.ndarray
) -> np.ndarray:
    """Data-space ``log p(events[i])`` (common basis) under ``raw[i]``, each after ``before[i]``."""
    targets = encode_targets(spec, events, before)
    return log_likelihood(spec, raw, targets) + jacobian(spec, events)


def step_inputs(steps: np.ndarray) -> np.ndarray:
    """The network's input for grid steps of ``steps`` cells since the previous event:
    ``sign(step) * log(1 + |step|)`` (0 where the control kept its cell, 0.69 a cell up, 4.85
    across a 7-bit grid): which way each grid control is going and about how fast, which the
    network cannot read well from its values (a cell of 7-bit MIDI is 0.03 in the network space;
    docs/model-format.md, "Step inputs")."""
    steps = np.asarray(steps, dtype=np.float64)
    return np.sign(steps) * np.log1p(np.abs(steps))


def encode_inputs(spec: ModelSpec, performance: np.ndarray) -> np.ndarray:
    """``(n, inputs)`` float32: each event in the network space, which discrete controls moved
    in it (all of them in the first event) and, where the model has them, each grid control's
    ``step_inputs`` (none in the first event)."""
    layout = layout_of(spec)
    cells = cell_indices(performance, layout.controls)
    parts = [spec.transform.to_net(performance), moved(cells).astype(np.float32)]
    if layout.steps:
        grids = cells[:, list(layout.grid_positions)]
        steps = np.zeros(grids.shape, dtype=np.int64)
        steps[1:] = np.diff(grids, axis=0)
        parts.append(step_inputs(steps).astype(np.float32))
    return np.concatenate(parts, axis=1)


def encode_targets(
    spec: ModelSpec, performance: np.ndarray, before: np.ndarray | None = None
) -> np.ndarray:
    """``(n, W)`` float32 target rows (``MovesLayout.target_columns``); row ``i`` is event ``i``
    after event ``i - 1`` (row 0, never a target, after itself), or after ``before[i]``."""
    layout = layout_of(spec)
    transform = spec.transform
    events = np.asarray(performance, dtype=np.float64)
    previous = (
        np.concatenate([events[:1], events[:-1]])
        if before is None
        else np.asarray(before, dtype=np.float64)
    )
    z = transform.to_net(events).astype(np.float64)
    dense = [0] + [1 + c for c in layout.continuous_controls]
    bounds = []
    for c in layout.grid_controls:
        loc, scale = transform.loc[1 + c], transform.scale[1 + c]
        kind = layout.controls[c]
        bounds.append((*cell_bounds(kind, events[:, 1 + c], loc, scale),
                       *cell_bounds(kind, previous[:, 1 + c], loc, scale)))  # fmt: skip
    grid = np.array(bounds).reshape(len(bounds), 4, len(events))  # (Ng, 4, n)
    sets = layout.set_controls
    values = [layout.controls[c].cell_of(events[:, 1 + c]) for c in sets]
    priors = [layout.controls[c].cell_of(previous[:, 1 + c]) for c in sets]
    cells = cell_indices(events, layout.controls)  # (n, Nd), control order
    same = cell_indices(previous, layout.controls)
    flags = moved(cells) if before is None else cells != same
    order = [layout.discrete.index(c) for c in layout.movers]
    slot = layout.slot_of(pattern_codes(flags))
    flat = []
    if layout.has_flat:
        for rows in (events, previous):
            flat += [
                layout.flat_log_mass(layout.controls[c].cell_of(rows[:, 1 + c]), i)
                for i, c in enumerate(layout.grid_controls)
            ]
    return np.column_stack(
        [
            z[:, dense],
            *(grid[:, part].T for part in range(4)),  # lo, hi, prev_lo, prev_hi: (n, Ng) each
            np.array(values, dtype=np.float64).reshape(len(sets), len(events)).T,
            np.array(priors, dtype=np.float64).reshape(len(sets), len(events)).T,
            flags[:, order],
            slot,
            *flat,  # flat, flat_prev: (n,) per grid control each
        ]
    ).astype(np.float32)


def density_dimensions(layout: MovesLayout) -> list[int]:
    """Data dimensions scored by density: dt and the continuous controls."""
    return [0] + [1 + c for c in layout.continuous_controls]


def jacobian(spec: ModelSpec, performance: np.ndarray) -> np.ndarray:
    """``log|dz/dx|`` of each event over the dimensions scored by density."""
    return density_jacobian(spec, performance, density_dimensions(layout_of(spec)))


def log_cell(mu: np.ndarray, scale: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A logistic's log mass over ``[lo, hi]`` (``foretell.model.torch_moves.log_cell``)."""
    a, b = (lo - mu) / scale, (hi - mu) / scale
    return log1mexp(a - b) - np.logaddexp(0.0, -b) - np.logaddexp(0.0, a)


def log_likelihood(spec: ModelSpec, raw: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Network-space ``log p`` of each target row under ``raw (n, P)``: the NumPy twin of
    ``foretell.model.torch_moves.moves_loss`` (add ``jacobian`` for the data space)."""
    layout = layout_of(spec)
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    k, g, dc = layout.mixtures, layout.gaussians, layout.densities
    ng = len(layout.grid_controls)
    col = layout.target_columns()
    n = len(raw)
    mu = raw[:, : k * g].reshape(n, k, g)
    sigma = raw[:, k * g : 2 * k * g].reshape(n, k, g)
    flags = y[:, col["moved"]]
    zc = y[:, col["z"]]
    u = (zc[:, None, :] - mu[..., :dc]) / sigma[..., :dc]
    per_k = -0.5 * (u**2).sum(-1) - np.log(sigma[..., :dc]).sum(-1) - 0.5 * dc * LOG_2PI
    if ng:
        mg, sg = mu[..., dc:], sigma[..., dc:]
        cell = log_cell(mg, sg, y[:, None, col["lo"]], y[:, None, col["hi"]])
        prev = log_cell(mg, sg, y[:, None, col["prev_lo"]], y[:, None, col["prev_hi"]])
        if layout.has_flat:
            share = raw[:, layout.flat_start :].reshape(n, k, ng)  # logits of the flat share
            on, off = -np.logaddexp(0.0, -share), -np.logaddexp(0.0, share)  # log f, log(1 - f)
            cell = np.logaddexp(off + cell, on + y[:, None, col["flat"]])
            prev = np.logaddexp(off + prev, on + y[:, None, col["flat_prev"]])
        per_k = per_k + ((cell - log1mexp(prev)) * flags[:, None, :ng]).sum(-1)
    start = layout.sets_start
    rows = np.arange(n)
    for j, size in enumerate(layout.set_sizes):
        logits = raw[:, start : start + k * size].reshape(n, k, size).copy()
        start += k * size
        value = y[:, col["set"]][:, j].astype(np.int64)
        previous = y[:, col["set_prev"]][:, j].astype(np.int64)
        logits[rows, :, previous] -= 1e4
        per_k = per_k + log_softmax(logits)[rows, :, value] * flags[:, ng + j][:, None]
    joint = log_softmax(raw[:, layout.joint_start : layout.flat_start]).reshape(n, k, layout.slots)
    slot = y[:, col["slot"]][:, 0].astype(np.int64)
    per_k = per_k + joint[rows, :, slot]
    per_k = per_k + np.where(slot == len(layout.patterns), layout.log_other_share, 0.0)[:, None]
    if spec.floor_weight > 0:
        fs = spec.floor_sigma
        floor = (
            -0.5 * ((zc / fs) ** 2).sum(-1)
            - dc * (math.log(fs) + 0.5 * LOG_2PI)
            + math.log(spec.floor_weight)
            - len(layout.discrete) * math.log(2.0)
            + flags @ layout.floor_log_uniform()
        )
        per_k = np.concatenate([per_k + math.log1p(-spec.floor_weight), floor[:, None]], -1)
    top = per_k.max(-1, keepdims=True)
    return (top + np.log(np.exp(per_k - top).sum(-1, keepdims=True)))[:, 0]


def performance_log_likelihood(
    spec: ModelSpec, raw: np.ndarray, performance: np.ndarray
) -> np.ndarray:
    """Data-space ``log p`` (common basis) of events ``1..n-1`` of a performance, ``raw[i]``
    being the output after event ``i``."""
    targets = encode_targets(spec, performance)[1:]
    return log_likelihood(spec, raw[: len(targets)], targets) + jacobian(spec, performance[1:])


def centre_blocks(
    spec: MovesSpec, centres: tuple[list[int], list[int]] | None, gates: list[int] | None
) -> tuple[slice, slice, slice | None] | None:
    """``relative_centres`` and ``relative_gates`` as slices where each is one run of columns:
    the grid centres within a component's ``mu (G,)``, the inputs' values of those controls,
    their moved flags (None ungated); None where they are not runs (``centre_grids`` then
    indexes)."""
    if centres is None:
        return None
    g = spec.layout.gaussians
    columns, values = centres
    n = len(columns) // spec.layout.mixtures
    first = columns[:n]
    runs = [first, values[:n]] + ([gates[:n]] if gates is not None else [])
    if not all(run == list(range(run[0], run[0] + n)) for run in runs):
        return None
    if columns != [c * g + j for c in range(len(columns) // n) for j in first]:
        return None
    flags = None if gates is None else slice(gates[0], gates[0] + n)
    return slice(first[0], first[0] + n), slice(values[0], values[0] + n), flags


class MovesModel:
    """A moves model's weights: the dense model's fused LSTM and its step (``core``) with this
    kind's head; immutable, shared by every voice. A prediction is the head's raw output
    followed by the event it came after (``P + D`` float64 values: the event as it was given, so
    a control the sampler keeps is that value to the bit), so scoring and sampling need nothing
    else."""

    kind = KIND_NAME

    def __init__(self, file: ModelFile[Any]) -> None:
        spec: MovesSpec = file.spec
        self.file = file
        self.spec = spec
        self.layout = spec.layout
        self.core = DenseModel(file)  # the LSTM step; the head's spreads sit elsewhere
        k, g = self.layout.mixtures, self.layout.gaussians
        self.core.sigma = slice(k * g, 2 * k * g)
        self.params = self.layout.params
        centres = relative_centres(spec)
        self.centres = None if centres is None else tuple(np.array(c) for c in centres)
        gates = relative_gates(spec)
        self.gates = None if gates is None else np.array(gates)
        self.blocks = centre_blocks(spec, centres, gates)
        self.steps = _StepInputs(self.layout) if self.layout.steps else None  # its voices'

    def centre_grids(self, raw: np.ndarray, inputs: np.ndarray) -> None:
        """Make a relative-grid model's grid centres in ``raw (..., P)`` absolute: add the
        network inputs' ``(..., In)`` values of those controls (the event just seen); a gated
        model's only where the control's moved flag there is 0."""
        if self.blocks is not None:  # the same sums on slices: no index arrays
            run, values, flags = self.blocks
            k, g = self.layout.mixtures, self.layout.gaussians
            shift = inputs[..., values]
            if flags is not None:
                shift = shift * (1.0 - inputs[..., flags])
            mu = raw[..., : k * g].reshape(*raw.shape[:-1], k, g)  # a view: one axis split
            mu[..., run] += shift[..., None, :]
        elif self.centres is not None:
            centres, columns = self.centres
            if self.gates is None:
                raw[..., centres] += inputs[..., columns]
            else:
                raw[..., centres] += inputs[..., columns] * (1.0 - inputs[..., self.gates])

    def centring_views(self, raw: np.ndarray, inputs: np.ndarray) -> Callable[[], None] | None:
        """``centre_grids(raw, inputs)`` for one voice's own ``raw (P,)`` and ``inputs (In,)``
        as a call on views of them made once (three ufuncs a step, no indexing); None where
        the centres are not runs of columns or the model has none."""
        if self.blocks is None:
            return None
        run, values, flags = self.blocks
        k, g = self.layout.mixtures, self.layout.gaussians
        centres, shift = raw[: k * g].reshape(k, g)[:, run], inputs[values]
        if flags is None:
            return lambda: np.add(centres, shift, out=centres)
        gate, kept = inputs[flags], np.empty(shift.shape, dtype=np.float32)

        def centre() -> None:
            np.subtract(1.0, gate, out=kept)
            np.multiply(shift, kept, out=kept)
            np.add(centres, kept, out=centres)

        return centre

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def voice(self, rng: np.random.Generator | None = None) -> MovesVoice:
        return MovesVoice(self, rng)

    def step(self, voices: Sequence[Voice], events: Sequence[np.ndarray]) -> None:
        """Condition ``voices[i]`` on ``events[i]``, each as its own ``observe`` would (to
        float32 rounding): one product per layer from ``MIN_BATCH`` voices on, as the dense
        model does (``step_together``), one by one below."""
        own = own_voices(self, voices, MovesVoice)
        step_voices(own, events, lambda vs, es: step_together(self, vs, es))

    def log_likelihood(
        self, predictions: np.ndarray, events: np.ndarray, constraints: Constraints | None = None
    ) -> np.ndarray:
        """Data-space ``log p(events[i])`` on the common basis (``foretell.model.basis``): grid
        and set controls by their cell's probability. Scored unconstrained."""
        if constraints is not None and constraints.active:
            raise ConfigError("a moves model is scored without --hold, --range or --dtrange")
        predictions = np.atleast_2d(np.asarray(predictions, dtype=np.float64))
        raw, before = predictions[:, : self.params], predictions[:, self.params :]
        return pair_log_likelihood(self.spec, raw, before, np.atleast_2d(events))

    def carries_state(self, other: Any) -> bool:
        """A voice of ``other`` takes this LSTM state when both are moves models of one shape."""
        return isinstance(other, MovesModel) and (
            self.spec.layers, self.spec.units, self.layout.inputs
        ) == (other.spec.layers, other.spec.units, other.layout.inputs)  # fmt: skip

    def reads_prediction(self, other: Any) -> bool:
        return isinstance(other, MovesModel) and other.layout == self.layout

    def describe(self) -> dict[str, Any]:
        return {
            **self.core.describe(),
            "controls": [kind.kind for kind in self.layout.controls],
            "patterns": len(self.layout.patterns),
        }

    def expected(
        self,
        prediction: np.ndarray,
        pi_temp: float,
        sigma_temp: float,
        activity_temp: float = 1.0,
    ) -> dict[str, Any]:
        """``expectation``'s shape: each component's weight (summed over moving sets), dt and
        per control ``[centre, lo, hi]`` of the value it takes if it moves (a grid's logistic
        centre ±1 scale, mixed with its flat share where it has one: ``with_flat_share``; a
        set's likeliest value, a continuous control's mean ±1 σ), and ``moves``: each control's
        chance of moving (under all three temperatures; the "other" slot's sets each as likely,
        as the sampler draws them), without which it keeps its value."""
        return moves_expectation(
            self, np.asarray(prediction, dtype=np.float64), pi_temp, sigma_temp, activity_temp
        )


def moves_expectation(
    model: MovesModel,
    prediction: np.ndarray,
    pi_temp: float,
    sigma_temp: float,
    activity_temp: float = 1.0,
) -> dict[str, Any]:
    """See ``MovesModel.expected``."""
    layout, spec = model.layout, model.spec
    k, g, slots = layout.mixtures, layout.gaussians, layout.slots
    raw, before = prediction[: model.params], prediction[model.params :]
    logits = raw[layout.joint_start : layout.flat_start]
    if activity_temp != 1.0:
        logits = np.array(tempered_moves(logits.tolist(), slots, activity_temp))
    joint = mixture_weights(logits, pi_temp).reshape(k, slots)
    weights = joint.sum(1)
    moving = np.zeros(len(layout.controls))
    for slot, code in enumerate(layout.patterns):
        for bit, c in enumerate(layout.discrete):
            if code >> bit & 1:
                moving[c] += joint[:, slot].sum()
    if layout.has_other:  # the sets not named, each as likely: the share of them moving c
        other, unnamed = joint[:, -1].sum(), 2 ** len(layout.discrete) - len(layout.patterns)
        for bit, c in enumerate(layout.discrete):
            named = sum(code >> bit & 1 for code in layout.patterns)
            moving[c] += other * (2 ** (len(layout.discrete) - 1) - named) / unnamed
    for c, kind in enumerate(layout.controls):
        if not kind.discrete:
            moving[c] = 1.0
    mu = raw[: k * g].reshape(k, g)
    sigma = raw[k * g : 2 * k * g].reshape(k, g) * math.sqrt(max(sigma_temp, 0.0))
    loc, scale = np.asarray(spec.transform.loc), np.asarray(spec.transform.scale)
    order = [int(m) for m in np.argsort(-weights) if weights[m] >= MIN_WEIGHT] or [0]
    components = []
    for m in order:
        u = mu[m, 0] * scale[0] + loc[0]
        w = sigma[m, 0] * scale[0]
        dt = [float(_dt_from_u(spec, np.array(v))) for v in (u, u - w, u + w)]
        values = [[float(before[1 + c])] * 3 for c in range(len(layout.controls))]
        for j, c in enumerate(layout.gaussian_controls, start=1):
            centre, width = mu[m, j] * scale[1 + c] + loc[1 + c], sigma[m, j] * scale[1 + c]
            if layout.has_flat and c in layout.grid_controls and sigma_temp > 0.0:
                i = layout.grid_controls.index(c)  # as the sampler: its flat share, untempered
                logit = raw[layout.flat_start + m * len(layout.grid_controls) + i]
                centre, width = with_flat_share(centre, width, float(logit), layout, i)
            values[c] = [
                float(np.clip(v, 0.0, 1.0)) for v in (centre, centre - width, centre + width)
            ]
        start = layout.sets_start
        for c, size in zip(layout.set_controls, layout.set_sizes, strict=True):
            best = int(np.argmax(raw[start + m * size : start + (m + 1) * size]))
            value = float(layout.controls[c].cell_values()[best])
            values[c] = [value, value, value]
            start += k * size
        components.append({"w": float(weights[m]), "dt": dt, "x": values})
    first: dict[str, Any] = components[0]
    return {"components": components, "dt": first["dt"][0], "moves": moving.tolist()}


def with_flat_share(
    centre: float, width: float, logit: float, layout: MovesLayout, position: int
) -> tuple[float, float]:
    """The ``position``-th grid control's centre and spread with its flat share (``logit``)
    mixed in: the mixture's mean, and its spread by the law of total variance (the logistic's
    ``width`` standing for its own, the flat part's the variance of the cells it spans)."""
    share = 1.0 / (1.0 + math.exp(-min(max(logit, -700.0), 700.0)))
    first, last = layout.flat[position]
    cells = layout.controls[layout.grid_controls[position]].cell_values()[first : last + 1]
    mean, variance = float(cells.mean()), float(cells.var())
    mixed = (1.0 - share) * centre + share * mean
    spread = (
        (1.0 - share) * width**2 + share * variance + share * (1.0 - share) * (centre - mean) ** 2
    )
    return mixed, math.sqrt(spread)


def step_together(
    model: MovesModel, voices: Sequence[MovesVoice], events: Sequence[np.ndarray]
) -> None:
    """``voices`` (all of ``model``) conditioned on ``events`` with their states stacked into
    rows: one ``forward`` for all, each voice then holding its state and prediction."""
    for voice, event in zip(voices, events, strict=True):
        voice.take_input(event)
    spec = model.spec
    buffers = np.stack([v._buffer for v in voices])  # (N, inputs + L*H)
    cells = np.stack([v._cells for v in voices])  # (N, L, H)
    gates = np.empty((len(voices), 4 * spec.units), dtype=np.float32)
    scratch = np.empty((len(voices), spec.units), dtype=np.float32)
    raw = np.empty((len(voices), model.params), dtype=np.float32)
    model.core.forward(_layer_views(spec, buffers, cells, gates), scratch, raw, gates)
    model.centre_grids(raw, buffers)
    for i, (voice, event) in enumerate(zip(voices, events, strict=True)):
        voice._buffer[:] = buffers[i]
        voice._cells[:] = cells[i]
        voice.prediction[: model.params] = raw[i]
        voice.prediction[model.params :] = event


class MovesVoice:
    """One performer on a ``MovesModel``: its LSTM state, prediction buffer and generator."""

    def __init__(self, model: MovesModel, rng: np.random.Generator | None = None) -> None:
        spec, layout = model.spec, model.layout
        self.model = model
        self.spec = spec
        self.layout = layout
        self.rng = rng if rng is not None else np.random.default_rng()
        d, h, inputs = spec.dimension, spec.units, layout.inputs
        self._buffer = np.zeros(inputs + spec.layers * h, dtype=np.float32)
        self._cells = np.zeros((spec.layers, h), dtype=np.float32)
        self._gates = np.zeros(4 * h, dtype=np.float32)
        self._scratch = np.zeros(h, dtype=np.float32)
        # the head's output (float32 values), then the event it follows, exact: float64
        self.prediction = np.zeros(model.params + d, dtype=np.float64)
        self._raw = np.zeros(model.params, dtype=np.float32)  # the head writes here
        self._head = self.prediction[: model.params]
        self._event = self.prediction[model.params :]
        self._views = _layer_views(spec, self._buffer, self._cells, self._gates)
        self._forward = model.core.forward
        self._relative = model.centres is not None  # grid centres to make absolute
        self._centring = model.centring_views(self._raw, self._buffer)
        self._discrete = list(layout.discrete)
        self._edges = {c: layout.controls[c].inner_edges().tolist() for c in self._discrete}
        self._cell_values = {c: layout.controls[c].cell_values().tolist() for c in self._discrete}
        self._last_cells: list[int] | None = None
        self._loc, self._scale = list(spec.transform.loc), list(spec.transform.scale)
        self._draws = RandomBlocks(self.rng, 1 + len(self._discrete), layout.gaussians)
        self._plan = _sample_plan(spec)
        self._inputs = layout.inputs
        self._moved_all = [1.0] * len(self._discrete)  # the flags of a first event
        self._steps = model.steps
        self._steered: tuple[Constraints, dict[int, list[int]]] | None = None
        self._blocked: tuple[frozenset[int], list[bool], list[int]] | None = None

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        self._buffer[:] = 0.0
        self._cells[:] = 0.0
        self._last_cells = None

    def get_state(self) -> LSTMState:
        d, h, layers = self.layout.inputs, self.spec.units, self.spec.layers
        return LSTMState(self._buffer[d:].reshape(layers, h).copy(), self._cells.copy())

    def set_state(self, state: object) -> None:
        if not isinstance(state, LSTMState):
            raise TypeError(f"a moves voice takes an LSTMState, not {type(state).__name__}")
        self._buffer[self.layout.inputs :] = state.hidden.reshape(-1)
        self._cells[:] = state.cell

    # -- the step ------------------------------------------------------------------------------

    def _cells_of(self, event: Sequence[float]) -> list[int]:
        return [bisect.bisect_left(edges, event[d]) for d, edges in self._plan.edges]

    def observe(self, event: np.ndarray) -> np.ndarray:
        """Condition on ``event`` and which of its discrete controls moved; return the
        prediction of the next event (``prediction``, reused by the next call)."""
        self.take_input(event)
        self._forward(self._views, self._scratch, self._raw, self._gates)
        if self._centring is not None:
            self._centring()
        elif self._relative:
            self.model.centre_grids(self._raw, self._buffer)
        self._head[:] = self._raw
        self._event[:] = event
        return self.prediction

    def take_input(self, event: np.ndarray) -> None:
        """Write ``event``, which discrete controls moved in it and, where the model has them,
        its grid steps (``_StepInputs``) into the network's input
        (the step itself is ``observe``'s, or ``step_together``'s for many voices): in one
        write, the event encoded on Python floats (``DenseModel.encode``'s arithmetic)."""
        values = event.tolist() if isinstance(event, np.ndarray) else [float(v) for v in event]
        plan = self._plan
        cells = [bisect.bisect_left(edges, values[d]) for d, edges in plan.edges]
        last = self._last_cells
        u = values[0]
        if plan.log_dt:
            u = math.log((0.0 if u < 0.0 else u) + plan.dt_offset)
        encoded = [(u - plan.in_loc[0]) / plan.in_scale[0]]
        encoded += [
            (v - a) / b for v, a, b in zip(values[1:], plan.in_loc_x, plan.in_scale_x, strict=True)
        ]
        if last is None:
            encoded += self._moved_all
        else:
            encoded += [
                0.0 if cell == before else 1.0 for cell, before in zip(cells, last, strict=True)
            ]
        if self._steps is not None:
            encoded += self._steps.after(cells, last)
        self._buffer[: self._inputs] = encoded
        self._last_cells = cells

    def predict(
        self,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        return self.sample(self.prediction, pi_temp, sigma_temp, constraints, activity_temp)

    def _draw(self) -> tuple[list[float], list[float]]:
        """One uniform for the (component, moving set) and one per discrete control, one normal
        per Gaussian dimension: drawn from the generator in blocks."""
        return self._draws.next()

    def sample(
        self,
        prediction: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        """Draw the next event (data space) after the one ``prediction`` followed; see the module
        docstring for the temperatures and ``constraints``. Works on Python floats over lists
        prepared once (several times faster than NumPy for a handful of values)."""
        plan = self._plan
        values = prediction.tolist()  # the head's output, then the event it followed
        event = values[plan.params :]  # starts as the previous event
        own = prediction is self.prediction and self._last_cells is not None
        previous = self._last_cells if own and self._last_cells else self._cells_of(event)
        uniforms, normal = self._draw()
        steer = constraints is not None and constraints.active
        held = set(constraints.holds) if steer and constraints is not None else _NONE
        joint = values[plan.joint_start : plan.flat_start]
        if held & plan.discrete_set:
            joint = self._without_held(joint, held)
        if activity_temp != 1.0:
            joint = tempered_moves(joint, plan.slots, activity_temp)
        m, slot = divmod(_choose(joint, pi_temp, uniforms[0]), plan.slots)
        at = m * plan.g
        mu = values[at : at + plan.g]
        sigma = values[plan.kg + at : plan.kg + at + plan.g]
        root = math.sqrt(0.0 if sigma_temp < 0.0 else sigma_temp)
        spread = [root * s for s in sigma]
        if steer and constraints is not None and constraints.control_temps:
            for j, c in enumerate(self.layout.gaussian_controls, start=1):
                spread[j] *= math.sqrt(constraints.control_temps.get(c, 1.0))
        u = (mu[0] + spread[0] * normal[0]) * plan.dt_scale + plan.dt_loc
        dt = math.exp(700.0 if u > 700.0 else u) - plan.dt_offset if plan.log_dt else u
        event[0] = plan.dt_min if plan.dt_min > dt else dt  # ``event_from_net``'s rule
        for j, c, scale, loc in plan.continuous:
            value = (mu[j] + spread[j] * normal[j]) * scale + loc
            value = 0.0 if value < 0.0 else value
            event[1 + c] = 1.0 if value > 1.0 else value
        moving = plan.movers[slot] if slot < len(plan.movers) else self._other_movers()
        allowed = self._allowed_for(constraints) if steer and constraints is not None else {}
        at = plan.flat_start + m * plan.ng
        shares = values[at : at + plan.ng] if plan.flat else []
        for i, j, c, position, edges, levels, scale, loc, flat in plan.grid_draws:
            if c not in moving or c in held:
                continue
            before, width = previous[position], spread[j]
            if width > 0.0 and c not in allowed:  # ``_grid_value``'s first try, inline
                u, share = uniforms[i], 0.0
                if flat is not None:
                    x = shares[i - 1]
                    x = -700.0 if x < -700.0 else x
                    share = 1.0 / (1.0 + math.exp(-(700.0 if x > 700.0 else x)))
                if flat is not None and u < share:
                    cell = flat[0] + int(u / share * flat[2])
                    cell = flat[1] if flat[1] < cell else cell
                else:
                    u = (u - share) / (1.0 - share)
                    u = 1e-12 if u < 1e-12 else u
                    u = _ALMOST_ONE if u > _ALMOST_ONE else u
                    cell = bisect.bisect_left(
                        edges, (mu[j] + width * math.log(u / (1.0 - u))) * scale + loc
                    )
                if cell != before:
                    event[1 + c] = levels[cell]
                    continue
            event[1 + c] = self._grid_value(
                c,
                mu[j],
                width,
                uniforms[i],
                allowed.get(c),
                before,
                None if flat is None else (shares[i - 1], flat[0], flat[1]),
            )
        for i, c, start, size, position in plan.set_draws:
            if c in moving and c not in held:
                at = start + m * size
                event[1 + c] = self._set_value(
                    c, values[at : at + size], pi_temp, uniforms[i], allowed.get(c),
                    previous[position],
                )  # fmt: skip
        for c, cells in allowed.items():
            if c not in moving and c not in held:  # what stays outside its range is moved in
                lo, hi = constraints.ranges[c] if constraints is not None else (0.0, 1.0)
                if not lo <= event[1 + c] <= hi:
                    event[1 + c] = self._nearest_allowed(c, event[1 + c], cells)
        if steer and constraints is not None:
            event = steering.exact(event, constraints)
        return np.array(event)

    def _without_held(self, joint: list[float], held: AbstractSet[int]) -> list[float]:
        """The joint logits with every slot that moves a held control taken out (the slots
        kept while the same controls are held); all of them when every slot moves one."""
        key = frozenset(held)
        if self._blocked is None or self._blocked[0] != key:
            plan = self._plan
            mask = [bool(key & plan.slot_sets[i % plan.slots]) for i in range(len(joint))]
            self._blocked = (key, mask, [i for i, out in enumerate(mask) if not out])
        _, mask, open_slots = self._blocked
        if all(joint[i] == -1e300 for i in open_slots):  # nothing would be left to draw
            return joint
        return [-1e300 if out else v for v, out in zip(joint, mask, strict=True)]

    def _allowed_for(self, constraints: Constraints) -> dict[int, list[int]]:
        """``_allowed_cells`` of ``constraints``, kept while the same object is used."""
        if self._steered is None or self._steered[0] is not constraints:
            self._steered = (constraints, self._allowed_cells(constraints))
        return self._steered[1]

    def _allowed_cells(self, constraints: Constraints | None) -> dict[int, list[int]]:
        """Per ranged discrete control, the cells whose values lie inside its range."""
        if constraints is None or not constraints.ranges:
            return {}
        out = {}
        for c, (lo, hi) in constraints.ranges.items():
            if c in self._edges:
                values = self._cell_values[c]
                inside = [i for i, v in enumerate(values) if lo <= v <= hi]
                out[c] = inside or [
                    min(range(len(values)), key=lambda i: abs(values[i] - (lo + hi) / 2))
                ]
        return out

    def _nearest_allowed(self, control: int, value: float, cells: list[int]) -> float:
        values = self._cell_values[control]
        return values[min(cells, key=lambda i: abs(values[i] - value))]

    def _other_movers(self) -> frozenset[int]:
        """A moving set the model does not name, each as likely (the "other" slot)."""
        named, count = set(self.layout.patterns), len(self._discrete)
        code = next(
            (c for c in self.rng.integers(0, 2**count, 64).tolist() if c not in named),
            self.layout.patterns[0],
        )
        return frozenset(c for bit, c in enumerate(self._discrete) if code >> bit & 1)

    def _grid_value(
        self,
        control: int,
        mu: float,
        spread: float,
        uniform: float,
        allowed: list[int] | None,
        previous: int,
        flat: tuple[float, int, int] | None = None,
    ) -> float:
        """A grid value from the component's logistic, or where it has ``flat`` (its share's
        logit, first and last cell) from that share's even draw over the cells; never in the
        previous cell (nor outside ``allowed``): redrawn, else the nearest such cell to the draw.
        At σ-temperature 0 the logistic's mode."""
        edges, values = self._edges[control], self._cell_values[control]
        scale, loc = self._scale[1 + control], self._loc[1 + control]
        value = mu * scale + loc
        share = 1.0 / (1.0 + math.exp(-min(max(flat[0], -700.0), 700.0))) if flat else 0.0
        for attempt in range(REDRAWS if spread > 0 else 1):
            if spread > 0:
                u = uniform if attempt == 0 else float(self.rng.random())
                if flat is not None and u < share:
                    first, last = flat[1], flat[2]
                    cell = min(first + int(u / share * (last - first + 1)), last)
                    value = values[cell]
                    if cell != previous and (allowed is None or cell in allowed):
                        return value
                    continue
                u = (u - share) / (1.0 - share)
                u = min(max(u, 1e-12), 1.0 - 1e-12)
                value = (mu + spread * math.log(u / (1.0 - u))) * scale + loc
            cell = bisect.bisect_left(edges, value)
            if cell != previous and (allowed is None or cell in allowed):
                return values[cell]
        ok = [i for i in (range(len(values)) if allowed is None else allowed) if i != previous]
        if not ok:
            return values[previous]
        return values[min(ok, key=lambda i: (abs(values[i] - value), i))]

    def _set_value(
        self,
        control: int,
        logits: list[float],
        pi_temp: float,
        uniform: float,
        allowed: list[int] | None,
        previous: int,
    ) -> float:
        """A set value from the component's categorical, never the previous one (nor one
        outside ``allowed``)."""
        values = self._cell_values[control]
        if allowed is None:  # every value but the previous one
            if len(values) == 1:
                return values[previous]
            finite = list(logits)
            finite[previous] = -1e300
            return values[choose_component(finite, pi_temp, uniform)]
        ok = set(allowed) - {previous}
        if not ok:
            return values[previous]
        finite = [v if i in ok else -1e300 for i, v in enumerate(logits)]
        return values[choose_component(finite, pi_temp, uniform)]


def tempered_moves(joint: list[float], slots: int, activity_temp: float) -> list[float]:
    """The joint logits of (component, moving set) with each component's moving-set
    distribution tempered by ``activity_temp`` and the component's weight kept:
    ``p(m) p(s | m)^(1/T) / Σ_s' p(s' | m)^(1/T)``; 0 keeps only each component's likeliest
    moving set."""
    out: list[float] = []
    for start in range(0, len(joint), slots):
        logits = joint[start : start + slots]
        top = max(logits)
        weight = top + math.log(sum(math.exp(v - top) for v in logits))  # log p(m), unnormed
        if activity_temp <= 0.0:
            best = logits.index(top)
            out += [weight if i == best else -math.inf for i in range(slots)]
            continue
        scaled = [(v - top) / activity_temp for v in logits]
        norm = math.log(sum(math.exp(v) for v in scaled))
        out += [weight + v - norm for v in scaled]
    return out


def _choose(values: list[float], pi_temp: float, uniform: float) -> int:
    """``choose_component``'s draw (the same index for the same uniform), its running sum and
    search in C: the (component, moving set) pairs are some tens of logits."""
    top = max(values)
    if pi_temp <= 0.0:
        return values.index(top)
    exp = math.exp
    if pi_temp == 1.0:  # the same floats: (v - top) * 1.0 is v - top
        running = list(accumulate([exp(v - top) for v in values]))
    else:
        scale = 1.0 / pi_temp
        running = list(accumulate([exp((v - top) * scale) for v in values]))
    index, last = bisect.bisect_right(running, uniform * running[-1]), len(running) - 1
    return last if last < index else index


_NONE: frozenset[int] = frozenset()  # no control held

# (uniform index, dimension, control, position among discrete, inner edges, cell values, scale,
# loc, flat: (first cell, last cell, cells spanned) or None)
_GridDraw = tuple[
    int, int, int, int, list[float], list[float], float, float, tuple[int, int, int] | None
]


class _StepInputs:
    """``step_inputs`` on Python floats, one lookup per grid control: a table made once per
    model (a 14-bit grid's holds 32767 values) that its voices read."""

    def __init__(self, layout: MovesLayout) -> None:
        self._positions = layout.grid_positions
        widest = max(layout.controls[c].levels for c in layout.grid_controls)
        self._offset = widest - 1  # the table's index of a step of 0
        self._table = step_inputs(np.arange(-self._offset, widest)).tolist()
        self._first = [0.0] * len(self._positions)

    def after(self, cells: Sequence[int], last: Sequence[int] | None) -> list[float]:
        """The inputs of an event in ``cells`` (discrete order) after one in ``last`` (none:
        a performance's first event)."""
        if last is None:
            return self._first
        table, offset = self._table, self._offset
        return [table[cells[p] - last[p] + offset] for p in self._positions]


@dataclass(frozen=True)
class _SamplePlan:
    """What ``MovesVoice.take_input`` and ``sample`` read at every step, prepared once from the
    spec (Python floats and lists: the step works on a handful of values)."""

    params: int
    joint_start: int
    flat_start: int
    slots: int
    g: int
    kg: int
    continuous: tuple[tuple[int, int, float, float], ...]  # (dimension, control, scale, loc)
    grid_draws: tuple[_GridDraw, ...]  # per grid control, control order
    ng: int  # grid controls
    flat: tuple[tuple[int, int], ...]  # per grid control its flat range, or none
    set_draws: tuple[tuple[int, int, int, int, int], ...]  # (uniform, control, logits start,
    # size, position among discrete) per set control
    movers: tuple[frozenset[int], ...]  # the controls each named moving set moves
    slot_sets: tuple[frozenset[int], ...]  # per slot, the same ("other": every discrete one)
    discrete_set: frozenset[int]
    edges: tuple[tuple[int, list[float]], ...]  # per discrete control: its event index, edges
    in_loc: tuple[float, ...]  # the transform (``DenseModel.encode``, ``event_from_net``)
    in_scale: tuple[float, ...]
    in_loc_x: tuple[float, ...]  # the controls' part of the two
    in_scale_x: tuple[float, ...]
    log_dt: bool
    dt_offset: float
    dt_min: float
    dt_loc: float
    dt_scale: float


def _sample_plan(spec: MovesSpec) -> _SamplePlan:
    layout = spec.layout
    transform = spec.transform
    k, g, dc = layout.mixtures, layout.gaussians, layout.densities
    loc, scale = transform.loc, transform.scale
    discrete = list(layout.discrete)
    ng = len(layout.grid_controls)
    sets, start = [], layout.sets_start
    for i, (c, size) in enumerate(zip(layout.set_controls, layout.set_sizes, strict=True)):
        sets.append((1 + ng + i, c, start, size, discrete.index(c)))
        start += k * size
    flat = layout.flat if layout.has_flat else ()
    grids = tuple(
        (
            i,
            j,
            c,
            discrete.index(c),
            layout.controls[c].inner_edges().tolist(),
            layout.controls[c].cell_values().tolist(),
            float(scale[1 + c]),
            float(loc[1 + c]),
            (flat[i - 1][0], flat[i - 1][1], flat[i - 1][1] - flat[i - 1][0] + 1) if flat else None,
        )
        for i, (j, c) in enumerate(enumerate(layout.grid_controls, start=dc), start=1)
    )
    movers = tuple(
        frozenset(c for bit, c in enumerate(discrete) if code >> bit & 1)
        for code in layout.patterns
    )
    every = frozenset(discrete)
    in_loc = tuple(float(v) for v in loc)
    in_scale = tuple(float(v) for v in scale)
    return _SamplePlan(
        params=layout.params,
        joint_start=layout.joint_start,
        flat_start=layout.flat_start,
        slots=layout.slots,
        g=g,
        kg=k * g,
        continuous=tuple(
            (j, c, scale[1 + c], loc[1 + c])
            for j, c in enumerate(layout.continuous_controls, start=1)
        ),
        grid_draws=grids,
        ng=ng,
        flat=flat,
        set_draws=tuple(sets),
        movers=movers,
        slot_sets=movers + ((every,) if layout.has_other else ()),
        discrete_set=every,
        edges=tuple((1 + c, layout.controls[c].inner_edges().tolist()) for c in discrete),
        in_loc=in_loc,
        in_scale=in_scale,
        in_loc_x=in_loc[1:],
        in_scale_x=in_scale[1:],
        log_dt=transform.dt_kind == "log",
        dt_offset=float(transform.dt_offset),
        dt_min=float(transform.dt_min),
        dt_loc=in_loc[0],
        dt_scale=in_scale[0],
    )


def _read_spec(data: Any) -> MovesSpec:
    return MovesSpec.from_dict(data)


def _build(file: ModelFile) -> MovesModel:
    return MovesModel(file)


KIND = Kind(KIND_NAME, read_spec=_read_spec, build=_build)
