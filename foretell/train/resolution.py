"""The narrowest Gaussian worth fitting: ``sigma_min`` from the resolution of the controls.

Instruments send quantised values: 7-bit MIDI (steps of 1/127 or 1/128), 10-bit serial (1/1023),
a LightPad's 128 positions. Most consecutive values repeat exactly (57 % of the x values of the
LightPad 100k set), and a Gaussian mixture can buy ever better likelihood by making its components
narrower than one step: about 0.7 nats per halving on every repeated value, with nothing learned
about the player. Training chases that for hundreds of epochs. With the narrowest spread one
step's worth, the standard deviation of a value spread evenly over its step (``step / sqrt(12)``:
such a Gaussian still puts 92 % of its mass inside the step), a run reaches its best in half the
epochs and scores as well on sessions it never saw (docs/evaluation/choices.md, "The narrowest
spread").

``sigma_floor`` measures each control's step (the smallest gap between its distinct values, when it
has at most ``MAX_LEVELS`` of them; otherwise it is taken as continuous), converts
``step / sqrt(12)`` to the network space (divides by the control's scale) and returns the smallest
over the controls, clipped to ``[DEFAULT_SIGMA_MIN, MAX_SIGMA_MIN]``. One value serves every
dimension (``ModelSpec.sigma_min`` is a scalar), so the cap keeps dt's resolution fine: 0.01 network
units of ``log(dt + 40 ms)``, under 0.5 % of the interval.
"""

from __future__ import annotations

import math

import numpy as np

from foretell.model.fileformat import DEFAULT_SIGMA_MIN
from foretell.model.transform import DataTransform

MAX_SIGMA_MIN = 0.01
MAX_LEVELS = 4096  # more distinct values than this: a continuous control


def control_steps(events: np.ndarray) -> list[float | None]:
    """Each control's quantisation step (``None`` where it looks continuous)."""
    steps: list[float | None] = []
    for column in np.asarray(events, dtype=np.float64)[:, 1:].T:
        levels = np.unique(column)
        gaps = np.diff(levels)
        steps.append(float(gaps.min()) if 1 < len(levels) <= MAX_LEVELS else None)
    return steps


def sigma_floor(events: np.ndarray, transform: DataTransform) -> float:
    """``sigma_min`` (network units) for data like ``events`` (see the module docstring)."""
    floors = [
        step / math.sqrt(12.0) / scale
        for step, scale in zip(control_steps(events), transform.scale[1:], strict=True)
        if step is not None
    ]
    if not floors:
        return DEFAULT_SIGMA_MIN
    return float(np.clip(min(floors), DEFAULT_SIGMA_MIN, MAX_SIGMA_MIN))
