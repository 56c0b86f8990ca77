"""An instrument's live settings: one frozen value, replaced whole by each command.

The instrument (``foretell.perform.instrument``) owns it; its parts (the model it plays, its turn
driver) read it, never change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from foretell.events import OutOfRange
from foretell.model.constraints import Constraints
from foretell.settings import DEFAULTS


@dataclass(frozen=True)
class Settings:
    """An instrument's live-adjustable settings (replaced whole by each command); a live
    setting's field takes its default from its row (``foretell.settings``)."""

    mode: str = "callresponse"
    paused: bool = False
    pi_temp: float = DEFAULTS["pi_temp"]
    sigma_temp: float = DEFAULTS["sigma_temp"]
    activity_temp: float = DEFAULTS["activity_temp"]
    timescale: float = DEFAULTS["timescale"]
    threshold: float = DEFAULTS["threshold"]
    input_thru: bool = DEFAULTS["input_thru"]
    out_of_range: OutOfRange = "clip"
    log_predictions: bool = True
    constraints: Constraints = field(default_factory=Constraints)  # dt_range as played
    condition_on: tuple[int, ...] = ()  # filter: hold these controls at the performer's values
