"""What values each control takes, which controls move, and the head layout that models both.

A control's **kind** (``ControlKind``) is learned from the data and stored in the model file:

- ``continuous``: any value in [0, 1] (a Gaussian per mixture component, as the dense model);
- ``grid``: an ordered grid ``origin + j * step`` (7-bit MIDI's 128 steps, 14-bit, a serial
  0..1023), scored as the probability of its cell (a discretised Gaussian), sampled on the grid;
- ``set``: a few values (pads, notes, buttons, switches), a categorical over the values seen.

Grid and set controls are **discrete**: each value stands for a cell of [0, 1] (a grid's cells
are ``step`` wide around its values, a set's are bounded by the midpoints between its values; the
end cells reach to infinity, as a clipped density's tails do). A discrete control **moves** in an
event when its cell differs from the previous event's (every control moves in a performance's
first event); one that does not move keeps its value exactly. Continuous controls move in every
event. Which discrete controls move together is a **pattern** (a bit mask over the discrete
controls, in control order); the model predicts one of the patterns seen most in training, or
"another" pattern, spread evenly over the rest.

``detect_kinds`` picks the kinds from training events; ``MovesLayout`` places the parameters of
such a model in the network's output. This module is NumPy only and knows nothing of networks.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from foretell.errors import ModelFileError

Kind = Literal["continuous", "grid", "set"]
KINDS: tuple[Kind, ...] = ("continuous", "grid", "set")
MAX_SET = 16  # at most this many distinct values: a set (categorical)
MAX_GRID_LEVELS = 16384  # a finer grid than 14-bit is taken as continuous
MAX_PATTERNS = 32  # moving sets the model names; rarer ones share the "other" slot
GRID_TOLERANCE = 0.02  # of a step: how far float32 values may lie from their grid point
EDGE = 1e3  # network units standing for an end cell's infinite edge
FLAT_OUTSIDE = -1e4  # the flat distribution's log mass outside its range (none, kept finite)


@dataclass(frozen=True)
class ControlKind:
    """One control's kind: ``continuous``, a ``grid`` (``origin``, ``step``, ``levels``) or a
    ``set`` of ``values`` (ascending)."""

    kind: Kind
    values: tuple[float, ...] = ()
    origin: float = 0.0
    step: float = 0.0
    levels: int = 0

    @property
    def discrete(self) -> bool:
        return self.kind != "continuous"

    @property
    def cells(self) -> int:
        return self.levels if self.kind == "grid" else len(self.values)

    def cell_values(self) -> np.ndarray:
        """The data-space value of each cell."""
        if self.kind == "grid":  # within [0, 1]: a file's top level may lie a rounding above
            values = self.origin + self.step * np.arange(self.levels, dtype=np.float64)
            return np.minimum(values, 1.0)
        return np.asarray(self.values, dtype=np.float64)

    def inner_edges(self) -> np.ndarray:
        """The ``cells - 1`` boundaries between neighbouring cells (data space)."""
        points = self.cell_values()
        return (points[1:] + points[:-1]) / 2.0

    def cell_of(self, values: np.ndarray) -> np.ndarray:
        """The index of the cell holding each value (any real value falls in one)."""
        return np.searchsorted(self.inner_edges(), np.asarray(values, dtype=np.float64))

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "grid":
            return {"kind": "grid", "origin": self.origin, "step": self.step, "levels": self.levels}
        if self.kind == "set":
            return {"kind": "set", "values": list(self.values)}
        return {"kind": "continuous"}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ControlKind:
        """A kind from a file's metadata, checked; ``ModelFileError`` names what is wrong."""
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            raise ModelFileError(f"{where} must be an object with a kind of {', '.join(KINDS)}")
        if data["kind"] == "grid":
            origin, step, levels = data.get("origin"), data.get("step"), data.get("levels")
            if not (
                isinstance(origin, int | float)
                and isinstance(step, int | float)
                and isinstance(levels, int)
                and 0.0 <= origin < 1.0
                and 1.0 / MAX_GRID_LEVELS <= step <= 1.0
                and 2 <= levels <= MAX_GRID_LEVELS
                and origin + step * (levels - 1) <= 1.0 + GRID_TOLERANCE * step
            ):  # the top level as detection counts it (float32 values' rounding tolerated)
                raise ModelFileError(f"{where}: a grid needs origin, step and levels within [0, 1]")
            return cls("grid", origin=float(origin), step=float(step), levels=levels)
        if data["kind"] == "set":
            values = data.get("values")
            if (
                not isinstance(values, list)
                or not 1 <= len(values) <= MAX_SET
                or not all(isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in values)
                or any(b <= a for a, b in itertools.pairwise(values))
            ):
                raise ModelFileError(
                    f"{where}: a set needs 1 to {MAX_SET} ascending values within [0, 1]"
                )
            return cls("set", values=tuple(float(v) for v in values))
        return cls("continuous")


CONTINUOUS = ControlKind("continuous")


def _grid_step(levels: np.ndarray) -> tuple[float, float] | None:
    """``(origin, step)`` of a regular grid holding every value, or ``None``."""
    gap = float(np.diff(levels).min())
    if gap < 1.0 / MAX_GRID_LEVELS:
        return None
    inverse = round(1.0 / gap)
    if abs(1.0 / gap - inverse) < 1e-3 * inverse:  # 1/127 stored as float32
        gap = 1.0 / inverse
    position = (levels - levels[0]) / gap
    if np.abs(position - np.round(position)).max() > GRID_TOLERANCE:
        return None
    origin = float(levels[0] - gap * math.floor(levels[0] / gap + GRID_TOLERANCE))
    # a grid through 0 whose lowest value seen is a float32 k/127, a few 1e-9 above k/127:
    # its origin is 0, not that rounding (which puts the top level above 1)
    return (0.0 if origin < GRID_TOLERANCE * gap else origin), gap


def detect_kind(column: np.ndarray) -> ControlKind:
    """A control's kind from its values: a set of at most ``MAX_SET`` values, else a regular
    grid of at most ``MAX_GRID_LEVELS`` steps over [0, 1], else continuous."""
    levels = np.unique(np.asarray(column, dtype=np.float64))
    if len(levels) <= MAX_SET:
        return ControlKind("set", values=tuple(float(v) for v in levels))
    grid = _grid_step(levels)
    if grid is None:
        return CONTINUOUS
    origin, step = grid
    count = math.floor((1.0 - origin) / step + GRID_TOLERANCE) + 1
    if count > MAX_GRID_LEVELS:
        return CONTINUOUS
    return ControlKind("grid", origin=origin, step=step, levels=count)


def detect_kinds(events: np.ndarray) -> tuple[ControlKind, ...]:
    """Each control's kind from data-space events ``(n, D)`` (column 0 is dt)."""
    return tuple(detect_kind(column) for column in np.asarray(events)[:, 1:].T)


def parse_kind_overrides(text: str, controls: int) -> dict[int, Kind]:
    """``"1=continuous,3=set"`` (controls numbered from 1, as ``x1``) -> ``{0: ..., 2: ...}``;
    ``"all=continuous"`` sets every control."""
    out: dict[int, Kind] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, kind = part.partition("=")
        if kind not in KINDS:
            raise ValueError(f"unknown control kind {kind!r} in {part!r} (use {', '.join(KINDS)})")
        if name.strip() == "all":
            out.update(dict.fromkeys(range(controls), kind))
            continue
        try:
            index = int(name.strip().lstrip("x")) - 1
        except ValueError:
            raise ValueError(f"{part!r} does not name a control (x1..x{controls})") from None
        if not 0 <= index < controls:
            raise ValueError(f"{part!r}: the data has controls x1..x{controls}")
        out[index] = kind
    return out


def apply_overrides(
    detected: Sequence[ControlKind], overrides: dict[int, Kind], events: np.ndarray
) -> tuple[ControlKind, ...]:
    """Detected kinds with some forced: ``continuous`` always works; ``set`` takes the values
    seen (at most ``MAX_SET``); ``grid`` needs values on a regular grid."""
    kinds = list(detected)
    columns = np.asarray(events, dtype=np.float64)[:, 1:]
    for index, kind in overrides.items():
        if kind == "continuous":
            kinds[index] = CONTINUOUS
            continue
        levels = np.unique(columns[:, index])
        if kind == "set":
            if len(levels) > MAX_SET:
                raise ValueError(f"x{index + 1} takes {len(levels)} values; a set holds {MAX_SET}")
            kinds[index] = ControlKind("set", values=tuple(map(float, levels)))
            continue
        grid = _grid_step(levels) if len(levels) > 1 else None
        if grid is None:
            raise ValueError(f"x{index + 1}'s values do not lie on a regular grid")
        origin, step = grid
        count = min(math.floor((1.0 - origin) / step + GRID_TOLERANCE) + 1, MAX_GRID_LEVELS)
        kinds[index] = ControlKind("grid", origin=origin, step=step, levels=count)
    return tuple(kinds)


# -- moves ----------------------------------------------------------------------------------------


def discrete_indices(controls: Sequence[ControlKind]) -> tuple[int, ...]:
    return tuple(i for i, kind in enumerate(controls) if kind.discrete)


def cell_indices(performance: np.ndarray, controls: Sequence[ControlKind]) -> np.ndarray:
    """``(n, Nd)`` cell index of every discrete control in every event."""
    columns = [controls[i].cell_of(performance[:, 1 + i]) for i in discrete_indices(controls)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(performance), 0), np.int64)


def moved(cells: np.ndarray) -> np.ndarray:
    """``(n, Nd)`` bool: a discrete control moves when its cell differs from the previous
    event's; every control moves in the first event."""
    out = np.ones(cells.shape, dtype=bool)
    out[1:] = cells[1:] != cells[:-1]
    return out


def kinds_of(spec: object) -> tuple[ControlKind, ...] | None:
    """The control kinds of a model's spec: a moves model's, ``None`` for any other kind."""
    controls = getattr(spec, "controls", None)
    return controls if isinstance(controls, tuple) else None


def snap_to_cells(controls: Sequence[ControlKind], event: np.ndarray) -> np.ndarray:
    """``event`` with each discrete control on the value of the cell holding it."""
    out = np.array(event, dtype=np.float64)
    for i in discrete_indices(controls):
        out[1 + i] = controls[i].cell_values()[controls[i].cell_of(out[1 + i])]
    return out


def pattern_codes(moves: np.ndarray) -> np.ndarray:
    """Each event's moving set as a bit mask (bit i: the i-th discrete control moves)."""
    weights = 1 << np.arange(moves.shape[1], dtype=np.int64)
    return (moves.astype(np.int64) * weights).sum(axis=1)


def pattern_vocabulary(
    performances: Sequence[np.ndarray], controls: Sequence[ControlKind], cap: int = MAX_PATTERNS
) -> tuple[tuple[int, ...], bool]:
    """The moving sets the model names (the ``cap`` most frequent among the scored events, all
    but each performance's first, most frequent first) and whether some seen sets were left
    out."""
    counts: Counter[int] = Counter()
    for performance in performances:
        codes = pattern_codes(moved(cell_indices(performance, controls)))
        counts.update(codes[1:].tolist())
    if not counts:
        return (0,), False
    return tuple(code for code, _ in counts.most_common(cap)), len(counts) > cap


def flat_ranges(
    performances: Sequence[np.ndarray], controls: Sequence[ControlKind]
) -> tuple[tuple[int, int], ...]:
    """Per grid control (control order), the first and last cell its values take in
    ``performances``: the span of its flat distribution (``MovesLayout.flat``)."""
    events = np.concatenate(performances)
    out = []
    for i, kind in enumerate(controls):
        if kind.kind == "grid":
            cells = kind.cell_of(events[:, 1 + i])
            out.append((int(cells.min()), int(cells.max())))
    return tuple(out)


SMALL_STEP_SHARE = 1 / 16  # a grid control whose median move is at most this share of its
# cells moves in small steps (jumps anywhere in its range would have a median near a third)


def small_step_grids(
    performances: Sequence[np.ndarray], controls: Sequence[ControlKind]
) -> tuple[int, ...]:
    """The grid controls (control indices) that move in small steps in ``performances``: the
    median size of their moves at most ``SMALL_STEP_SHARE`` of their cells (a knob turned, a
    finger sliding; not a drum's velocity, which jumps anywhere from hit to hit)."""
    out = []
    for i, kind in enumerate(controls):
        if kind.kind != "grid":
            continue
        steps = [np.abs(np.diff(kind.cell_of(p[:, 1 + i]))) for p in performances]
        moves = np.concatenate(steps) if steps else np.zeros(0)
        moves = moves[moves > 0]
        if len(moves) and np.median(moves) <= SMALL_STEP_SHARE * kind.cells:
            out.append(i)
    return tuple(out)


ONE_AT_A_TIME_SHARE = 0.8  # of the events that move any control, the share moving exactly one
# where the player plays one control at a time (a knob box: 1.0; pads, pitch with velocity: 0;
# a LightPad's x, y and pressure, moving together: 0.2)


def plays_one_at_a_time(
    performances: Sequence[np.ndarray], controls: Sequence[ControlKind]
) -> bool:
    """Whether ``performances`` play their controls one at a time: at least two controls, and of
    the events after a performance's first that move any (a discrete control by its cell, a
    continuous one by its value), at least ``ONE_AT_A_TIME_SHARE`` move exactly one."""
    if len(controls) < 2:
        return False
    counts = [moving_count(p, controls) for p in performances if len(p) > 1]
    moving = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    moving = moving[moving > 0]
    return bool(len(moving)) and float(np.mean(moving == 1)) >= ONE_AT_A_TIME_SHARE


def moving_count(performance: np.ndarray, controls: Sequence[ControlKind]) -> np.ndarray:
    """``(n - 1,)`` how many controls each event after the first moves."""
    columns = [
        kind.cell_of(performance[:, 1 + i]) if kind.discrete else performance[:, 1 + i]
        for i, kind in enumerate(controls)
    ]
    values = np.stack(columns, axis=1)
    return np.count_nonzero(values[1:] != values[:-1], axis=1)


# -- the head -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovesLayout:
    """Where each parameter of a moves model sits in the network's output, in this order:

    ``mu (K, G)``, ``spread (K, G)`` over G = dt, then each continuous control, then each grid
    control (control order within each), ``logits (K, C_s)`` for each set control in turn, and
    the joint ``logits (K, S)`` of a component and a moving set (S slots: the named patterns,
    then "other" where the model has it: a slot shared evenly by every subset not named;
    without it only the floor gives them any chance), and where the model has ``flat`` ranges,
    ``flat logits (K, Ng)``: each component's share of a flat distribution on each grid control.
    All component-major. dt and the continuous controls are Gaussians (``spread`` their standard
    deviation), the grid controls discretised logistics (``spread`` their scale), all in the
    network space, each mixed with the flat one (``sigmoid(flat logit)`` of it, even over the
    cells ``flat[i]`` spans, its first and last cell seen in training).
    """

    mixtures: int
    controls: tuple[ControlKind, ...]
    patterns: tuple[int, ...]
    other: bool = False  # a slot for every moving set not named (else only the floor has them)
    flat: tuple[tuple[int, int], ...] = ()  # per grid control: first and last cell, or none
    steps: bool = False  # the network also reads each grid control's step (``step_inputs``)

    @cached_property
    def continuous_controls(self) -> tuple[int, ...]:
        return tuple(i for i, k in enumerate(self.controls) if k.kind == "continuous")

    @cached_property
    def grid_controls(self) -> tuple[int, ...]:
        return tuple(i for i, k in enumerate(self.controls) if k.kind == "grid")

    @cached_property
    def set_controls(self) -> tuple[int, ...]:
        return tuple(i for i, k in enumerate(self.controls) if k.kind == "set")

    @cached_property
    def discrete(self) -> tuple[int, ...]:
        """Grid and set controls in control order: bit i of a pattern is ``discrete[i]``."""
        return discrete_indices(self.controls)

    @cached_property
    def densities(self) -> int:
        """Gaussian dimensions: dt and every continuous control (the first of G)."""
        return 1 + len(self.continuous_controls)

    @cached_property
    def gaussian_controls(self) -> tuple[int, ...]:
        """The controls of the G dimensions after dt: continuous ones, then grid ones."""
        return self.continuous_controls + self.grid_controls

    @cached_property
    def gaussians(self) -> int:
        """G: dt, every continuous control and every grid control."""
        return 1 + len(self.gaussian_controls)

    @cached_property
    def set_sizes(self) -> tuple[int, ...]:
        return tuple(self.controls[i].cells for i in self.set_controls)

    @cached_property
    def movers(self) -> tuple[int, ...]:
        """The order of the ``moved`` target columns: grid controls, then set controls."""
        return self.grid_controls + self.set_controls

    @cached_property
    def has_other(self) -> bool:
        return self.other and len(self.patterns) < 2 ** len(self.discrete)

    @cached_property
    def slots(self) -> int:
        return len(self.patterns) + int(self.has_other)

    @cached_property
    def log_other_share(self) -> float:
        """``-log`` of how many subsets share the "other" slot."""
        rest = 2 ** len(self.discrete) - len(self.patterns)
        return -math.log(rest) if rest > 0 else 0.0

    @cached_property
    def grid_positions(self) -> tuple[int, ...]:
        """Each grid control's place among the discrete controls (in ``cell_indices``' rows)."""
        return tuple(self.discrete.index(c) for c in self.grid_controls)

    @cached_property
    def inputs(self) -> int:
        """The network's input: the event's D values, one moved flag per discrete control and,
        where the model has them, one step per grid control (``foretell.model.moves``)."""
        steps = len(self.grid_controls) if self.steps else 0
        return 1 + len(self.controls) + len(self.discrete) + steps

    @cached_property
    def sets_start(self) -> int:
        return 2 * self.mixtures * self.gaussians

    @cached_property
    def joint_start(self) -> int:
        return self.sets_start + self.mixtures * sum(self.set_sizes)

    @cached_property
    def flat_start(self) -> int:
        """Where the flat logits start (the joint logits end here)."""
        return self.joint_start + self.mixtures * self.slots

    @cached_property
    def has_flat(self) -> bool:
        return bool(self.flat) and bool(self.grid_controls)

    @cached_property
    def params(self) -> int:
        return self.flat_start + (self.mixtures * len(self.grid_controls) if self.has_flat else 0)

    def flat_log_mass(self, cells: np.ndarray, position: int) -> np.ndarray:
        """The flat distribution's log mass on each cell of the ``position``-th grid control:
        ``-log(cells spanned)`` inside its range, ``FLAT_OUTSIDE`` outside."""
        first, last = self.flat[position]
        inside = (cells >= first) & (cells <= last)
        return np.where(inside, -math.log(last - first + 1), FLAT_OUTSIDE)

    def slot_of(self, codes: np.ndarray) -> np.ndarray:
        """The slot of each pattern code (unnamed ones: the "other" slot)."""
        lookup = {code: slot for slot, code in enumerate(self.patterns)}
        other = len(self.patterns)
        return np.array([lookup.get(int(c), other) for c in codes], dtype=np.int64)

    def floor_log_uniform(self) -> np.ndarray:
        """Per ``moved`` column: ``-log(cells - 1)``, the floor's chance of each other cell."""
        return -np.log(np.maximum([self.controls[c].cells - 1 for c in self.movers], 1))

    def target_columns(self) -> dict[str, slice]:
        """Where each part of a target row sits (``foretell.model.moves.encode_targets``
        writes them): ``z`` (dt and the continuous controls, network space), ``lo, hi,
        prev_lo, prev_hi`` (each grid control's cell and previous cell, network space),
        ``set, set_prev`` (each set control's value index and previous one), ``moved`` (grid
        controls, then sets: 1 where it moves), ``slot`` (the moving set's slot), ``flat,
        flat_prev`` (each grid control's flat log mass on its cell and previous cell: empty
        without flat ranges)."""
        return self._columns

    @cached_property
    def _columns(self) -> dict[str, slice]:
        ng, ns = len(self.grid_controls), len(self.set_controls)
        nf = ng if self.has_flat else 0
        out, start = {}, 0
        for name, width in (
            ("z", self.densities), ("lo", ng), ("hi", ng), ("prev_lo", ng), ("prev_hi", ng),
            ("set", ns), ("set_prev", ns), ("moved", ng + ns), ("slot", 1), ("flat", nf),
            ("flat_prev", nf),
        ):  # fmt: skip
            out[name] = slice(start, start + width)
            start += width
        return out

    @cached_property
    def target_width(self) -> int:
        return max(part.stop for part in self.target_columns().values())


def choose_controls(
    performances: Sequence[np.ndarray], request: str = "auto"
) -> tuple[tuple[ControlKind, ...] | None, tuple[int, ...], bool]:
    """The kinds, named moving sets and whether some seen sets went unnamed, for a model
    trained on ``performances``: ``"dense"`` gives ``(None, (), False)`` (the dense model);
    ``"auto"`` detects each control's kind and keeps the dense model where no control is
    discrete; anything else is ``"auto"`` with overrides (``parse_kind_overrides``).
    ``ValueError`` names a bad request."""
    if request == "dense":
        return None, (), False
    events = np.concatenate(performances)
    controls = events.shape[1] - 1
    kinds = detect_kinds(events)
    if request != "auto":
        kinds = apply_overrides(kinds, parse_kind_overrides(request, controls), events)
    if not any(kind.discrete for kind in kinds):
        return None, (), False
    return kinds, *pattern_vocabulary(performances, kinds)
