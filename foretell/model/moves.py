"""The moves model at performance time (NumPy only): which controls move, and their values.

A moves model (``ModelSpec.controls`` set; ``foretell.model.control_kinds`` for the kinds,
patterns and the head's layout) is the dense MDRNN's LSTM with a wider input and another
head. ``MovesRuntime`` runs it as ``Runtime`` runs a dense model (same LSTM step, same
``predict``, ``reset``, state):

- ``predict(event)`` also feeds which discrete controls moved since the last event;
- ``sample(raw, pi_temp, sigma_temp)`` draws the component and the moving set together, dt and
  continuous controls from the component's Gaussians, each moving grid control on its grid (its
  previous cell left out), each moving set control from its categorical (its previous value left
  out); every other control keeps its previous value exactly;
- ``log_likelihood`` is the density of ``foretell.model.torch_moves`` (the training loss), in the
  data space on the common basis (``foretell.model.basis``).

Temperatures: π-temperature divides the logits of every discrete choice (the component with its
moving set, and a set control's value; 0 takes the most likely), so it also sharpens which
controls move; σ-temperature (times a control's own ``controltemp``) multiplies the spreads of dt,
the continuous controls and the grid controls' logistics by its square root (0 gives the mode's
cell, the nearest other cell when that is the previous one); it does not touch which controls
move or a set's categorical.

Constraints: a held discrete control never moves (the moving sets that move it are taken out of
the draw, an exact conditioning) and keeps the held value; a range on a grid or set control
truncates it to the cells inside (a moving control is redrawn, else put on the nearest allowed
cell; one that stays outside is moved to the nearest allowed cell); holds and ranges on dt and
continuous controls are set and clipped after the draw.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from foretell.model import constraints as steering
from foretell.model.basis import LOG_2PI, cell_bounds, density_jacobian, log1mexp
from foretell.model.constraints import Constraints
from foretell.model.control_kinds import (
    ControlKind,
    MovesLayout,
    cell_indices,
    moved,
    pattern_codes,
)
from foretell.model.fileformat import ModelFile, ModelSpec, load_model
from foretell.model.mixture import choose_component, log_softmax
from foretell.model.runtime import Runtime

REDRAWS = 32  # tries to leave the previous cell before taking the nearest other cell


def layout_of(spec: ModelSpec) -> MovesLayout:
    layout = spec.layout
    if layout is None:
        raise ValueError("a dense model has no moves layout")
    return layout


def encode_inputs(spec: ModelSpec, performance: np.ndarray) -> np.ndarray:
    """``(n, inputs)`` float32: each event in the network space and which discrete controls
    moved in it (all of them in the first event)."""
    layout = layout_of(spec)
    flags = moved(cell_indices(performance, layout.controls)).astype(np.float32)
    return np.concatenate([spec.transform.to_net(performance), flags], axis=1)


def encode_targets(spec: ModelSpec, performance: np.ndarray) -> np.ndarray:
    """``(n, W)`` float32 target rows (``MovesLayout.target_columns``); row ``i`` is event ``i``
    after event ``i - 1`` (row 0, never a target, after itself)."""
    layout = layout_of(spec)
    transform = spec.transform
    events = np.asarray(performance, dtype=np.float64)
    previous = np.concatenate([events[:1], events[:-1]])
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
    flags = moved(cell_indices(events, layout.controls))  # (n, Nd), control order
    order = [layout.discrete.index(c) for c in layout.movers]
    slot = layout.slot_of(pattern_codes(flags))
    return np.column_stack(
        [
            z[:, dense],
            *(grid[:, part].T for part in range(4)),  # lo, hi, prev_lo, prev_hi: (n, Ng) each
            np.array(values, dtype=np.float64).reshape(len(sets), len(events)).T,
            np.array(priors, dtype=np.float64).reshape(len(sets), len(events)).T,
            flags[:, order],
            slot,
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
    joint = log_softmax(raw[:, layout.joint_start :]).reshape(n, k, layout.slots)
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


class MovesRuntime(Runtime):
    """A moves model's runtime: ``Runtime``'s LSTM step on the event and its moved flags, the
    moves head's sampling and scoring (see the module docstring). One performer's state."""

    def __init__(self, model: ModelFile, rng: np.random.Generator | None = None) -> None:
        super().__init__(model, rng)
        self.layout = layout_of(self.spec)
        layout, spec = self.layout, self.spec
        self._discrete = list(layout.discrete)
        self._edges = {c: layout.controls[c].inner_edges().tolist() for c in self._discrete}
        self._cell_values = {c: layout.controls[c].cell_values().tolist() for c in self._discrete}
        self._last: list[float] | None = None
        self._last_cells: list[int] = []
        self._loc, self._scale = list(spec.transform.loc), list(spec.transform.scale)
        self._set_starts: dict[int, int] = {}
        start = layout.sets_start
        for c, size in zip(layout.set_controls, layout.set_sizes, strict=True):
            self._set_starts[c] = start
            start += layout.mixtures * size

    def reset(self) -> None:
        super().reset()
        self._last = None

    def _encode_input(self, event: np.ndarray) -> None:
        values = [float(v) for v in event]
        cells = [bisect.bisect_left(self._edges[c], values[1 + c]) for c in self._discrete]
        if self._last is None:
            flags = [1.0] * len(cells)
        else:
            flags = [float(a != b) for a, b in zip(cells, self._last_cells, strict=True)]
        super()._encode_input(np.asarray(values))
        d = self.spec.dimension
        self._buffer[d : d + len(flags)] = flags
        self._last, self._last_cells = values, cells

    def sample(
        self,
        raw: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
    ) -> np.ndarray:
        """Draw the next event (data space) after the last one ``predict`` saw; see the module
        docstring for the temperatures and ``constraints``."""
        layout, spec = self.layout, self.spec
        k, g, dc = layout.mixtures, layout.gaussians, layout.densities
        uniform, normal = self._draw()
        rng = self.rng
        held = set() if constraints is None else set(constraints.holds)
        joint = raw[layout.joint_start :].tolist()
        if held & set(self._discrete):
            joint = self._without_held(joint, held)
        m, slot = divmod(choose_component(joint, pi_temp, uniform), layout.slots)
        mu = raw[m * g : (m + 1) * g].tolist()
        sigma = raw[k * g + m * g : k * g + (m + 1) * g].tolist()
        spread = [math.sqrt(max(sigma_temp, 0.0))] * g
        if constraints is not None:
            for j, c in enumerate(layout.gaussian_controls, start=1):
                spread[j] *= math.sqrt(constraints.control_temps.get(c, 1.0))
        event = list(self._last) if self._last is not None else [0.0] + [0.5] * len(layout.controls)
        u0 = mu[0] + spread[0] * sigma[0] * normal[0]
        event[0] = spec.transform.event_from_net([u0] + [0.0] * len(layout.controls))[0]
        for j, c in enumerate(layout.continuous_controls, start=1):
            value = (mu[j] + spread[j] * sigma[j] * normal[j]) * self._scale[1 + c] + self._loc[
                1 + c
            ]
            event[1 + c] = min(max(value, 0.0), 1.0)
        moving = self._moving_controls(slot, rng) - held
        allowed = self._allowed_cells(constraints)
        for j, c in enumerate(layout.grid_controls, start=dc):
            if c in moving:
                event[1 + c] = self._grid_value(c, mu[j], sigma[j] * spread[j], rng, allowed.get(c))
        for c, start in self._set_starts.items():
            if c in moving:
                size = layout.controls[c].cells
                logits = raw[start + m * size : start + (m + 1) * size].tolist()
                event[1 + c] = self._set_value(
                    c, logits, pi_temp, float(rng.random()), allowed.get(c)
                )
        for c, cells in allowed.items():
            if c not in moving and c not in held:  # a range truncates what stays too
                event[1 + c] = self._nearest_allowed(c, event[1 + c], cells)
        if constraints is not None and constraints.active:
            event = steering.exact(event, constraints)
        return np.array(event)

    def _without_held(self, joint: list[float], held: set[int]) -> list[float]:
        """The joint logits with every slot that moves a held control taken out."""
        layout, mask = self.layout, 0
        for bit, c in enumerate(self._discrete):
            if c in held:
                mask |= 1 << bit
        slots = [code & mask == 0 for code in layout.patterns] + [False] * int(layout.has_other)
        kept = [v if slots[i % layout.slots] else -math.inf for i, v in enumerate(joint)]
        if all(v == -math.inf for v in kept):
            return joint
        return [v if v != -math.inf else -1e300 for v in kept]

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

    def _moving_controls(self, slot: int, rng: np.random.Generator) -> set[int]:
        layout = self.layout
        if slot < len(layout.patterns):
            code = layout.patterns[slot]
        else:  # "other": any subset the model does not name, each as likely
            named, count = set(layout.patterns), len(self._discrete)
            code = next(
                (c for c in rng.integers(0, 2**count, 64).tolist() if c not in named),
                layout.patterns[0],
            )
        return {c for bit, c in enumerate(self._discrete) if code >> bit & 1}

    def _previous_cell(self, control: int) -> int:
        return self._last_cells[self._discrete.index(control)] if self._last is not None else -1

    def _grid_value(
        self,
        control: int,
        mu: float,
        spread: float,
        rng: np.random.Generator,
        allowed: list[int] | None,
    ) -> float:
        """A grid value from the component's logistic, never in the previous cell (nor outside
        ``allowed``): redrawn, else the nearest such cell to the draw."""
        edges, values = self._edges[control], self._cell_values[control]
        previous = self._previous_cell(control)
        scale, loc = self._scale[1 + control], self._loc[1 + control]
        ok = set(range(len(values)) if allowed is None else allowed) - {previous}
        if not ok:
            return values[previous]
        value = mu * scale + loc
        for _ in range(REDRAWS if spread > 0 else 1):
            if spread > 0:
                u = min(max(float(rng.random()), 1e-12), 1.0 - 1e-12)
                value = (mu + spread * math.log(u / (1.0 - u))) * scale + loc
            if bisect.bisect_left(edges, value) in ok:
                return values[bisect.bisect_left(edges, value)]
        return values[min(ok, key=lambda i: (abs(values[i] - value), i))]

    def _set_value(
        self,
        control: int,
        logits: list[float],
        pi_temp: float,
        uniform: float,
        allowed: list[int] | None,
    ) -> float:
        """A set value from the component's categorical, never the previous one (nor one
        outside ``allowed``)."""
        values = self._cell_values[control]
        previous = self._previous_cell(control)
        ok = set(range(len(values)) if allowed is None else allowed) - {previous}
        if not ok:
            return values[previous]
        finite = [v if i in ok else -1e300 for i, v in enumerate(logits)]
        return values[choose_component(finite, pi_temp, uniform)]

    def log_likelihood(self, raw: np.ndarray, event: np.ndarray) -> np.ndarray:
        """Data-space ``log p(event)`` (common basis) under ``raw``, after the last event
        ``predict`` saw (a moves model scores an event against its previous one)."""
        previous = self._last if self._last is not None else event
        pair = np.asarray([previous, event], dtype=np.float64)
        return performance_log_likelihood(self.spec, np.asarray(raw)[None, :], pair)


def runtime_for(model: ModelFile, rng: np.random.Generator | None = None) -> Runtime:
    """The runtime that plays ``model``: ``MovesRuntime`` for a moves model, else ``Runtime``."""
    return MovesRuntime(model, rng) if model.spec.controls is not None else Runtime(model, rng)


def load_any_runtime(path: str | Path, seed: int | None = None) -> Runtime:
    """Load a model file of either kind and build its runtime, its generator seeded by ``seed``."""
    return runtime_for(load_model(path), np.random.default_rng(seed))


def moves_per_event(performance: np.ndarray, kinds: Sequence[ControlKind]) -> np.ndarray:
    """How many discrete controls move in each event after the first."""
    return moved(cell_indices(performance, kinds))[1:].sum(axis=1)
