"""The range of every live setting, one table checked at every door (config, OSC, WebSocket,
dashboard), so no value a stranger or a typo sends can silence or flood the performance.

=============  ===========  ==========================================================
setting        range        why
=============  ===========  ==========================================================
``pitemp``     0 .. 10      π-temperature: 0 always picks the likeliest component
``sigmatemp``  0 .. 10      σ-temperature: 0 plays each component's mean
``activitytemp`` 0 .. 10    how many controls a moves model moves: 0 its likeliest moving set
``timescale``  0.05 .. 20   stretches the model's intervals (20x faster to 20x slower)
``threshold``  0 .. 60 s    silence before call-and-response answers
``controltemp`` 0 .. 10     one control's own σ-temperature (on top of ``sigmatemp``)
``dtrange``    0 .. 60 s    bounds of the interval between the model's events
``value``      0 .. 1       a control value (``range`` bounds, ``hold``)
=============  ===========  ==========================================================

Every value must also be finite. ``check(setting, value)`` returns the value as a float or raises
``ValueError`` naming the setting and its range.
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
    "pitemp": Range(0.0, 10.0),
    "sigmatemp": Range(0.0, 10.0),
    "activitytemp": Range(0.0, 10.0),
    "timescale": Range(0.05, 20.0),
    "threshold": Range(0.0, 60.0, "s"),
    "controltemp": Range(0.0, 10.0),
    "dtrange": Range(0.0, 60.0, "s"),
    "value": Range(0.0, 1.0),
}
MAX_MODEL_DT = 60.0  # seconds: the longest interval the model may wait before its next event
MIN_PLAYED_DT = 0.001  # seconds between the model's own events: 1,000 a second at most


def check(setting: str, value: float) -> float:
    """``value`` as a float if it is finite and inside ``setting``'s range, else ``ValueError``."""
    allowed = RANGES[setting]
    number = float(value)
    if not (math.isfinite(number) and allowed.low <= number <= allowed.high):
        shown = f"{number!r}"[:40]
        raise ValueError(f"{setting} must be a finite number in {allowed.describe()}, got {shown}")
    return number
