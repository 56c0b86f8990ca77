"""The live settings: one table from which the verbs, their checks, the config keys they start
from and the docs are all taken.

Each ``Setting`` is a number or an on/off flag of an instrument that a performer may change while
it plays: ``/foretell/VERB`` over OSC (and ``/impsy/VERB`` where IMPSY has it), ``{"command":
VERB}`` over the WebSocket, the dashboard's controls; at start it takes its config key. Every
change is the one command ``SetSetting(verb, value)``, checked here (``parse``) against the
setting's range in ``foretell.limits``. Mode, pause, reset, steering and model loading have
meanings of their own and keep their own commands (``foretell.commands``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from foretell import limits
from foretell.errors import ControlError

Kind = Literal["number", "flag"]
FLAG_WORDS = {"0": False, "1": True, "false": False, "true": True, "off": False, "on": True}


@dataclass(frozen=True)
class Setting:
    """One live setting (see the module docstring)."""

    verb: str  # its name in every door: OSC, WebSocket, dashboard, the log's command notes
    field: str  # the instrument's ``Settings`` field it sets
    kind: Kind
    default: float | bool
    config_key: str  # ``section.key`` of the run config that sets it at start
    impsy: bool  # IMPSY has the verb too (``/impsy/VERB``)
    doc: str

    def parse(self, args: Sequence[object]) -> float | bool:
        """The value ``args`` give this setting; ``ControlError`` naming what is wrong."""
        if self.kind == "flag":
            return flag(self.verb, args)
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int | float):
            raise ControlError(f"{self.verb} takes one number, got {shown(args)}")
        try:
            return limits.check(self.verb, args[0])
        except ValueError as exc:
            raise ControlError(str(exc)) from None

    def describe(self) -> str:
        """Its allowed values, as the docs and error lines say them."""
        return "0 or 1" if self.kind == "flag" else limits.RANGES[self.verb].describe()


SETTINGS: tuple[Setting, ...] = (
    Setting("pitemp", "pi_temp", "number", 1.0, "model.pi_temp", True,
            "π-temperature: 0 always picks the likeliest mixture component"),
    Setting("sigmatemp", "sigma_temp", "number", 1.0, "model.sigma_temp", True,
            "σ-temperature: 0 plays each component's mean"),
    Setting("activitytemp", "activity_temp", "number", 1.0, "model.activity_temp", False,
            "activity temperature: how many controls a moves model moves (0: its likeliest set)"),
    Setting("timescale", "timescale", "number", 1.0, "interaction.timescale", True,
            "stretches the model's intervals (0.05: 20x faster, 20: 20x slower)"),
    Setting("threshold", "threshold", "number", 0.1, "interaction.threshold", False,
            "seconds of silence before call-and-response answers"),
    Setting("thru", "input_thru", "flag", False, "interaction.input_thru", False,
            "the performer's own input is also sent to the outputs"),
)  # fmt: skip
BY_VERB = {setting.verb: setting for setting in SETTINGS}


def shown(args: Sequence[object]) -> str:
    """``args`` as an error line quotes them (at most 80 characters)."""
    text = repr(list(args))
    return text if len(text) <= 80 else text[:77] + "..."


def flag(verb: str, args: Sequence[object]) -> bool:
    """One on/off value: 0/1, a number, true/false, on/off; ``ControlError`` otherwise."""
    value = args[0] if len(args) == 1 else None
    if isinstance(value, str) and value.lower() in FLAG_WORDS:
        return FLAG_WORDS[value.lower()]
    if isinstance(value, bool | int | float):
        return bool(value)
    raise ControlError(f"{verb} takes 0 or 1, got {shown(args)}")


def _default(setting: Setting) -> str:
    return str(int(setting.default)) if setting.kind == "flag" else f"{setting.default:g}"


def docs_table() -> str:
    """The table of live settings, in Markdown, as docs/performance.md shows it."""
    rows = [
        f"| `{s.verb}` | {s.describe()} | `{s.config_key}` | {_default(s)} | {s.doc} |"
        for s in SETTINGS
    ]
    head = "| verb | values | config key | default | what it does |\n|---|---|---|---|---|"
    return "\n".join([head, *rows])
