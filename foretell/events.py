"""``Event``: one control event as the engine sees it, checked so that an invalid one can't exist.

An event is a moment ``t`` (seconds on the engine's clock, see ``foretell.clock``), the interval
``dt`` since the previous event of the same stream, the control values (each in [0, 1]) and who
played it: the performer (``user``) or the model (``model``); a user event's ``origin`` names the
kind of source it came through (``osc``, ``midi``, ``serial``, ``websocket``, ``pad`` for the
dashboard's; empty when unknown), for displays only; ``guest`` marks a user event from a host that
is not the performer's (logged as a ``guest`` row, never learned from). ``moved`` names the
controls (0-based) that moved in the event (``moved_controls``): for a model's event those its
model moved (a moves model's moving set and its continuous controls; for a dense model every
control whose value changed), both measured against the event the model drew it after; for a
performer's event those whose value differs from the performer's previous event (all of them in
the first); ``None`` where nobody said (an event read back from a log). Events are immutable.

Raw input from a transport is checked by ``check_values`` before it becomes an event; this module
does not know about transports, models or logs.

A model, a log and an instrument have a *dimension*: the values of one event as the model sees it,
dt first, then the controls; ``controls_of(dimension)`` and ``dimension_for(controls)`` say the one
from the other (the performer's event carries the controls only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

Source = Literal["user", "model"]
OutOfRange = Literal["clip", "reject"]


@overload
def controls_of(dimension: int) -> int: ...
@overload
def controls_of(dimension: None) -> None: ...
def controls_of(dimension: int | None) -> int | None:
    """How many controls an event of ``dimension`` values has (dt is the first); None: unknown."""
    return None if dimension is None else dimension - 1


def dimension_for(controls: int) -> int:
    """The dimension of an instrument with ``controls`` controls: dt and the controls."""
    return controls + 1


@dataclass(frozen=True, slots=True)
class Event:
    """A control event: time ``t`` (s), interval ``dt`` (s, >= 0), ``values`` in [0, 1], source."""

    t: float
    dt: float
    values: tuple[float, ...]
    source: Source
    origin: str = field(default="", compare=False)
    guest: bool = field(default=False, compare=False)
    moved: tuple[int, ...] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("an event needs at least one control value")
        if not (math.isfinite(self.t) and math.isfinite(self.dt) and self.dt >= 0):
            raise ValueError(f"event time {self.t!r} / interval {self.dt!r} is invalid")
        for v in self.values:
            if not 0.0 <= v <= 1.0:  # also false for NaN
                raise ValueError(f"control value {v!r} is outside [0, 1]")
        if self.source not in ("user", "model"):
            raise ValueError(f"unknown event source {self.source!r}")


MOVE_TOLERANCE = 1e-6  # a smaller change is rounding (a value sent as float32, say), not a move


def moved_controls(before: Sequence[float], after: Sequence[float]) -> tuple[int, ...]:
    """The controls (0-based) whose value in ``after`` differs from ``before`` by more than
    ``MOVE_TOLERANCE``; every control when there is no ``before`` (empty)."""
    if len(before) != len(after):
        return tuple(range(len(after)))
    return tuple(
        i for i, (a, b) in enumerate(zip(before, after, strict=True)) if abs(a - b) > MOVE_TOLERANCE
    )


class InputRejected(ValueError):
    """Raw input values that cannot become an event; ``kind`` names the problem for counting."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def check_values(
    raw: Sequence[object], controls: int | None, out_of_range: OutOfRange
) -> tuple[tuple[float, ...], bool]:
    """Turn raw transport values into control values; return ``(values, clipped)``.

    Raises ``InputRejected`` with kind ``wrong_count``, ``wrong_type``, ``not_finite`` or
    ``out_of_range`` (only when ``out_of_range == "reject"``). ``controls=None`` accepts any count.
    """
    if controls is not None and len(raw) != controls:
        raise InputRejected("wrong_count", f"expected {controls} values, got {len(raw)}")
    if not raw:
        raise InputRejected("wrong_count", "expected at least one value, got none")
    values = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputRejected("wrong_type", f"value {v!r} is not a number")
        values.append(float(v))
    if not all(math.isfinite(v) for v in values):
        raise InputRejected("not_finite", f"values {values} hold NaN or infinity")
    if all(0.0 <= v <= 1.0 for v in values):
        return tuple(values), False
    if out_of_range == "reject":
        raise InputRejected("out_of_range", f"values {values} are outside [0, 1]")
    return tuple(min(max(v, 0.0), 1.0) for v in values), True
