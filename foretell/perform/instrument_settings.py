"""An instrument's live settings: one frozen value, replaced whole by each command.

The instrument (``foretell.perform.instrument``) owns it; its parts (the model it plays, its turn
driver) read it, never change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from foretell.events import OutOfRange
from foretell.model.constraints import Constraints


@dataclass(frozen=True)
class Settings:
    """An instrument's live-adjustable settings (replaced whole by each command)."""

    mode: str = "callresponse"
    paused: bool = False
    pi_temp: float = 1.0
    sigma_temp: float = 1.0
    timescale: float = 1.0
    threshold: float = 0.1
    input_thru: bool = False
    out_of_range: OutOfRange = "clip"
    log_predictions: bool = True
    constraints: Constraints = field(default_factory=Constraints)  # dt_range as played
    condition_on: tuple[int, ...] = ()  # filter: hold these controls at the performer's values
