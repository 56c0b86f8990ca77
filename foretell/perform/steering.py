"""The performer's constraints on an instrument's model, changed by steering commands (pure).

``apply(constraints, command, controls)`` returns the constraints after ``range``, ``hold``,
``release``, ``controltemp``, ``dtrange`` or ``unconstrain``, or raises ``ControlError`` naming
the verb when the control does not exist on this instrument. ``for_model`` turns the played
interval range into the model's own (the engine plays ``dt * timescale``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TypeVar

from foretell import commands as control
from foretell.errors import ControlError
from foretell.model.constraints import Constraints

SteeringCommand = (
    control.SetRange
    | control.Hold
    | control.Release
    | control.SetControlTemp
    | control.SetDtRange
    | control.Unconstrain
)


def _check_control(verb: str, index: int, controls: int | None) -> None:
    if controls is not None and index >= controls:
        raise ControlError(
            f"{verb}: control {index} does not exist (this instrument has {controls} controls, "
            f"0..{controls - 1})"
        )


T = TypeVar("T")


def _without(table: dict[int, T], index: int) -> dict[int, T]:
    return {i: v for i, v in table.items() if i != index}


def apply(constraints: Constraints, command: SteeringCommand, controls: int | None) -> Constraints:
    """The constraints after ``command`` (see the module docstring)."""
    match command:
        case control.SetRange(control=i, low=low, high=high):
            _check_control("range", i, controls)
            return replace(constraints, ranges={**constraints.ranges, i: (low, high)})
        case control.Hold(control=i, value=value):
            _check_control("hold", i, controls)
            return replace(constraints, holds={**constraints.holds, i: value})
        case control.Release(control=i):
            _check_control("release", i, controls)
            return replace(
                constraints,
                ranges=_without(constraints.ranges, i),
                holds=_without(constraints.holds, i),
                control_temps=_without(constraints.control_temps, i),
            )
        case control.SetControlTemp(control=i, value=value):
            _check_control("controltemp", i, controls)
            return replace(constraints, control_temps={**constraints.control_temps, i: value})
        case control.SetDtRange(low=low, high=high):
            return replace(constraints, dt_range=(low, high))
        case control.Unconstrain():
            return Constraints()
    raise ControlError(f"not a steering command: {command!r}")


def for_model(constraints: Constraints, timescale: float) -> Constraints:
    """``constraints`` with the played-interval range in the model's own seconds."""
    if constraints.dt_range is None or timescale == 1.0:
        return constraints
    low, high = constraints.dt_range
    return replace(constraints, dt_range=(low / timescale, high / timescale))


def describe(constraints: Constraints) -> dict[str, object]:
    """A JSON-able view (for snapshots, the dashboard and the sidecar)."""
    return {
        "ranges": {str(i): list(r) for i, r in sorted(constraints.ranges.items())},
        "holds": {str(i): v for i, v in sorted(constraints.holds.items())},
        "control_temps": {str(i): v for i, v in sorted(constraints.control_temps.items())},
        "dt_range": None if constraints.dt_range is None else list(constraints.dt_range),
    }
