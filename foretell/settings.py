"""The live settings: one table from which everything that names a setting is taken.

Each ``Setting`` is a number or an on/off flag of an instrument that a performer may change while
it plays: ``/foretell/VERB`` over OSC (and ``/impsy/VERB`` where IMPSY has it), ``{"command":
VERB}`` over the WebSocket, the dashboard's controls; at start it takes its config key. Every
change is the one command ``SetSetting(verb, value)``, checked here (``parse``) against the
setting's range. Mode, pause, reset, steering and model loading have meanings of their own and
keep their own commands (``foretell.commands``).

Adding a setting is one row of ``SETTINGS``, which gives it: its verb at every door, its range
check, its config key (a field of its ``[section]`` and of ``[instrument.NAME]``, checked, with
the row's default: ``foretell.config.live_keys``), its key in a dashboard preset (numbers), its
``foretell run``/``studio`` option, its start value (``foretell.perform.build.settings_from``), the
dashboard's ``{"settings": [...]}`` message and the docs table (``docs_table``). The instrument
reads it from its ``Settings`` field (``field``), whose default is the row's; the code that acts
on the value is the only other thing to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from foretell import limits
from foretell.errors import ControlError
from foretell.limits import Range

Kind = Literal["number", "flag"]
FLAG_WORDS = {"0": False, "1": True, "false": False, "true": True, "off": False, "on": True}


@dataclass(frozen=True)
class Setting:
    """One live setting (see the module docstring): everything any door needs to know of it."""

    verb: str  # its name in every door: OSC, WebSocket, dashboard, the log's command notes
    field: str  # the instrument's ``Settings`` field it sets
    kind: Kind
    default: float | bool
    config_key: str  # ``section.key`` of the run config that sets it at start
    allowed: Range | None  # a number's range; ``None`` for a flag (0 or 1)
    impsy: bool  # IMPSY has the verb too (``/impsy/VERB``)
    option: str  # its ``foretell run`` / ``foretell studio`` option
    help: str  # that option's help
    doc: str
    unit: str = ""  # what the dashboard shows after a value ("s", "×")
    step: float = 0.01  # the dashboard's step for a number

    @property
    def key(self) -> str:
        """Its key inside its config section (``pi_temp`` of ``model.pi_temp``)."""
        return self.config_key.partition(".")[2]

    @property
    def section(self) -> str:
        """Its config section (``model`` of ``model.pi_temp``)."""
        return self.config_key.partition(".")[0]

    def parse(self, args: Sequence[object]) -> float | bool:
        """The value ``args`` give this setting; ``ControlError`` naming what is wrong."""
        if self.kind == "flag":
            return flag(self.verb, args)
        if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int | float):
            raise ControlError(f"{self.verb} takes one number, got {shown(args)}")
        try:
            return self.check(args[0])
        except ValueError as exc:
            raise ControlError(str(exc)) from None

    def check(self, value: float) -> float:
        """A number setting's ``value`` as a float if it lies in its range, else ``ValueError``
        naming the setting and its range (``foretell.limits.check_range``)."""
        assert self.allowed is not None, f"{self.verb} is a flag"
        return limits.check_range(self.verb, self.allowed, value)

    def describe(self) -> str:
        """Its allowed values, as the docs and error lines say them."""
        return "0 or 1" if self.allowed is None else self.allowed.describe()


SETTINGS: tuple[Setting, ...] = (
    Setting("pitemp", "pi_temp", "number", 1.0, "model.pi_temp", Range(0.0, 10.0), True,
            "--pi-temp", "π-temperature of sampling.",
            "π-temperature: 0 always picks the likeliest mixture component"),
    Setting("sigmatemp", "sigma_temp", "number", 1.0, "model.sigma_temp", Range(0.0, 10.0), True,
            "--sigma-temp", "σ-temperature of sampling.",
            "σ-temperature: 0 plays each component's mean"),
    Setting("activitytemp", "activity_temp", "number", 1.0, "model.activity_temp",
            Range(0.0, 10.0), False, "--activity-temp",
            "Activity temperature of a moves model: how many controls move.",
            "activity temperature: how many controls a moves model moves (0: its likeliest set)"),
    Setting("timescale", "timescale", "number", 1.0, "interaction.timescale", Range(0.05, 20.0),
            True, "--timescale", "Multiply every predicted dt by this factor.",
            "stretches the model's intervals (0.05: 20x faster, 20: 20x slower)", unit="×"),
    Setting("threshold", "threshold", "number", 0.1, "interaction.threshold",
            Range(0.0, 60.0, "s"), False,
            "--threshold", "Call-response: seconds of silence before answering.",
            "seconds of silence before call-and-response answers", unit="s"),
    Setting("thru", "input_thru", "flag", False, "interaction.input_thru", None, False,
            "--thru/--no-thru", "Also send user inputs to the output.",
            "the performer's own input is also sent to the outputs"),
)  # fmt: skip
BY_VERB = {setting.verb: setting for setting in SETTINGS}
DEFAULTS: dict[str, Any] = {setting.field: setting.default for setting in SETTINGS}  # by field
NUMBERS = tuple(setting for setting in SETTINGS if setting.kind == "number")


def in_section(section: str) -> tuple[Setting, ...]:
    """The settings whose config key lies in ``[section]``."""
    return tuple(setting for setting in SETTINGS if setting.section == section)


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
