"""Interaction modes as data: what a user input does, and when the model plays on its own.

Every mode reads (and logs) every input; the flags only decide where it goes.

======================  ==============  ==============  ==================
mode                    user -> model   answer each      model plays by
                        (conditions)    input at once    itself
======================  ==============  ==============  ==================
``listen``              yes             no               never
``filter``/polyphony    yes             yes              never
``callresponse``        yes             no               when the user has been silent for
                                                         ``threshold`` s, until they play again
``battle``              no              no               always, on its own samples
``useronly``            no (no model)   no               never
======================  ==============  ==============  ==================

This module holds the table and name lookup only; the engine acts on the flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from foretell.errors import ControlError

Generate = Literal["never", "when_silent", "always"]


@dataclass(frozen=True)
class Mode:
    """Routing flags of one interaction mode (see the module table)."""

    name: str
    condition_on_user: bool
    answer_each_input: bool
    generate: Generate
    needs_model: bool = True


MODES: dict[str, Mode] = {
    "listen": Mode("listen", True, False, "never"),
    "filter": Mode("filter", True, True, "never"),
    "callresponse": Mode("callresponse", True, False, "when_silent"),
    "battle": Mode("battle", False, False, "always"),
    "useronly": Mode("useronly", False, False, "never", needs_model=False),
}
ALIASES = {"polyphony": "filter"}


def mode_names() -> list[str]:
    """Every accepted name, aliases included."""
    return [*MODES, *ALIASES]


def get_mode(name: str) -> Mode:
    """The mode called ``name`` (aliases accepted); ``ControlError`` names the valid ones."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in MODES:
        raise ControlError(f"unknown mode {name!r} (valid: {', '.join(mode_names())})")
    return MODES[key]
