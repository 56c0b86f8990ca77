"""Ranges checked at every door (config, OSC, WebSocket, dashboard), so no value a stranger or a
typo sends can silence or flood the performance.

Each live setting's range is in its row of ``foretell.settings.SETTINGS`` (π, σ and activity 0..10,
timescale 0.05..20, threshold 0..60 s); the steering verbs' numbers are here:

===============  ===========  ========================================================
name             range        why
===============  ===========  ========================================================
``controltemp``  0 .. 10      one control's own σ-temperature (on top of ``sigmatemp``)
``dtrange``      0 .. 60 s    bounds of the interval between the model's events
``value``        0 .. 1       a control value (``range`` bounds, ``hold``)
===============  ===========  ========================================================

Every value must also be finite. ``check(name, value)`` (``check_range`` for a range given)
returns the value as a float or raises ``ValueError`` naming it and its range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    unit: str = ""

    def describe(self) -> str:
        return f"{self.low:g}..{self.high:g}{' ' + self.unit if self.unit else ''}"


RANGES = {
    "controltemp": Range(0.0, 10.0),
    "dtrange": Range(0.0, 60.0, "s"),
    "value": Range(0.0, 1.0),
}
MAX_MODEL_DT = 60.0  # seconds: the longest interval the model may wait before its next event
MIN_PLAYED_DT = 0.001  # seconds between the model's own events: 1,000 a second at most


def check(name: str, value: float) -> float:
    """``value`` as a float if it is finite and inside ``RANGES[name]``, else ``ValueError``."""
    return check_range(name, RANGES[name], value)


def check_range(name: str, allowed: Range, value: float) -> float:
    """``value`` as a float if it is finite and inside ``allowed``, else ``ValueError`` naming
    ``name`` and the range."""
    number = float(value)
    if not (math.isfinite(number) and allowed.low <= number <= allowed.high):
        shown = f"{number!r}"[:40]
        raise ValueError(f"{name} must be a finite number in {allowed.describe()}, got {shown}")
    return number
