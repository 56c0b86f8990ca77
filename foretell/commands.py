"""Live-control commands: what a performer (OSC, later the dashboard) may ask the engine to do.

A command is a small frozen value; ``parse_command(name, args)`` builds one from a transport's
verb and arguments (e.g. OSC ``/foretell/mode s`` -> ``parse_command("mode", ["filter"])``) and
raises ``ControlError`` naming what is wrong. The engine applies commands on its own loop, between
events (see ``Engine.command``); nothing here touches engine state.

Verbs (IMPSY's names, which foretell shares): ``mode NAME``, ``pause [0|1]`` (no argument
toggles), ``reset``, the live settings ``pitemp T``, ``sigmatemp T``, ``timescale F``,
``threshold S``, ``thru 0|1`` (``foretell.settings``: one ``SetSetting`` command), steering
(controls numbered from 0): ``range I LO HI``, ``hold I V``, ``release I``, ``controltemp I T``,
``dtrange MIN MAX`` (seconds between the model's events, as played), ``unconstrain``; ``load
NAME`` (hot-load a model file from the models folder, by name, without stopping), ``take NAME``
(close the log and go on in a new one, the take ``NAME``: a plain name), ``learn``
(fine-tune now, with ``foretell run --learn``), ``rollback N`` (play model version N of the
learned ones again). Numbers must lie in their ranges (a setting's row of
``foretell.settings.SETTINGS``, ``foretell.limits.RANGES`` for steering).

Every command checks itself when it is built, by the same rules and with the same one-line
messages as ``parse_command``: ``SetRange(0, 0.9, 0.1)`` raises ``ControlError`` in code as
``range 0 0.9 0.1`` does over OSC.
"""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from foretell import limits
from foretell.errors import ControlError
from foretell.modes import get_mode
from foretell.names import MODEL_SUFFIX, BadName, plain_name
from foretell.settings import BY_VERB, SETTINGS, flag, shown


@dataclass(frozen=True)
class SetMode:
    mode: str

    def __post_init__(self) -> None:
        get_mode(_text("mode", [self.mode]))


@dataclass(frozen=True)
class SetPause:
    paused: bool | None  # None toggles

    def __post_init__(self) -> None:
        if self.paused is not None:
            object.__setattr__(self, "paused", flag("pause", [self.paused]))


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class SetSetting:
    """A live setting (``foretell.settings.SETTINGS``: pitemp, sigmatemp, timescale, threshold,
    thru) to ``value``, already checked against its range."""

    name: str
    value: float | bool

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in BY_VERB:
            valid = ", ".join(BY_VERB)
            raise ControlError(f"{shown([self.name])[1:-1]} is not a live setting (valid: {valid})")
        object.__setattr__(self, "value", BY_VERB[self.name].parse([self.value]))


@dataclass(frozen=True)
class SetRange:
    """Every value the model plays for ``control`` lies in [low, high]."""

    control: int
    low: float
    high: float

    def __post_init__(self) -> None:
        _check_numbers(self, "range", ("control", "low", "high"))


@dataclass(frozen=True)
class Hold:
    """Fix ``control`` at ``value``; the rest is drawn conditioned on it."""

    control: int
    value: float

    def __post_init__(self) -> None:
        _check_numbers(self, "hold", ("control", "value"))


@dataclass(frozen=True)
class Release:
    """Undo ``range``, ``hold`` and ``controltemp`` of ``control``."""

    control: int

    def __post_init__(self) -> None:
        _check_numbers(self, "release", ("control",))


@dataclass(frozen=True)
class SetControlTemp:
    control: int
    value: float

    def __post_init__(self) -> None:
        _check_numbers(self, "controltemp", ("control", "value"))


@dataclass(frozen=True)
class SetDtRange:
    """The played interval between the model's events lies in [low, high] seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_numbers(self, "dtrange", ("low", "high"))


@dataclass(frozen=True)
class Unconstrain:
    """Every constraint off."""


@dataclass(frozen=True)
class LoadModel:
    """A model file of the models folder, by name (``model_path`` resolves it)."""

    name: str

    def __post_init__(self) -> None:
        model_name(_text("load", [self.name]))


@dataclass(frozen=True)
class NewTake:
    """Close the log and go on in a new one, called ``name`` (a plain name)."""

    name: str

    def __post_init__(self) -> None:
        try:
            plain_name(self.name, "take")
        except BadName as exc:
            raise ControlError(f"take: {exc}") from None


@dataclass(frozen=True)
class Learn:
    pass


@dataclass(frozen=True)
class Rollback:
    version: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "version", _version([self.version]))


@dataclass(frozen=True)
class Outcome:
    """What became of a command, said by whoever carried it out: ``refused`` is why it was not
    (None: it was taken); a taken ``load`` also has ``played``, a future that resolves once the
    model plays (with None) or with why it does not (a model file that does not load, a newer
    ``load`` that replaced it). It is thread-safe: a server awaits it on its own loop."""

    refused: str | None = None
    played: concurrent.futures.Future[str | None] | None = None

    @property
    def accepted(self) -> bool:
        return self.refused is None


Command = (
    SetMode
    | SetPause
    | Reset
    | SetSetting
    | SetRange
    | Hold
    | Release
    | SetControlTemp
    | SetDtRange
    | Unconstrain
    | LoadModel
    | NewTake
    | Learn
    | Rollback
)
VERBS = (
    *("mode", "pause", "reset", *BY_VERB, "load", "take", "learn", "rollback"),
    *("range", "hold", "release", "controltemp", "dtrange", "unconstrain"),
)
SHAPES = {"range": "i f f", "hold": "i f", "release": "i", "controltemp": "i f", "dtrange": "f f"}
IMPSY_VERBS = ("mode", "pause", "reset", *(s.verb for s in SETTINGS if s.impsy))

MAX_NAME = 255  # characters of a model name (a path inside the models folder)


def _numbers(verb: str, args: Sequence[object]) -> list[float]:
    """The arguments of a steering verb, checked against its shape (``SHAPES``): a control
    index (an integer >= 0) where the shape says ``i``, a number in its range where ``f``."""
    shape = SHAPES[verb].split()
    plain = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
    if len(args) != len(shape) or len(plain) != len(args):
        raise ControlError(f"{verb} takes {len(shape)} numbers ({SHAPES[verb]}), got {shown(args)}")
    values = [float(a) for a in plain]
    setting = (
        "dtrange" if verb == "dtrange" else "controltemp" if verb == "controltemp" else "value"
    )
    for kind, value in zip(shape, values, strict=True):
        if kind == "i" and not (math.isfinite(value) and value.is_integer() and 0 <= value < 1024):
            raise ControlError(f"{verb}: control {value!r} is not a control number (0, 1, ...)")
        if kind == "f":
            try:
                limits.check(setting, value)
            except ValueError as exc:
                raise ControlError(f"{verb}: {exc}") from None
    if verb in ("range", "dtrange") and values[-2] > values[-1]:
        raise ControlError(f"{verb}: low {values[-2]:g} is above high {values[-1]:g}")
    return values


def _check_numbers(command: object, verb: str, fields: tuple[str, ...]) -> None:
    """Check a steering command's ``fields`` as ``parse_command`` checks ``verb``'s arguments
    (``_numbers``), and keep them as it would build them: a control index an ``int``, a
    value a ``float``."""
    values = _numbers(verb, [getattr(command, field) for field in fields])
    for field, kind, value in zip(fields, SHAPES[verb].split(), values, strict=True):
        object.__setattr__(command, field, int(value) if kind == "i" else value)


def _version(args: Sequence[object]) -> int:
    """The model version ``rollback`` takes (an integer 0..1e9); ``ControlError`` otherwise."""
    if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int | float):
        raise ControlError(f"rollback takes a version number, got {shown(args)}")
    number = float(args[0])
    if not (math.isfinite(number) and number.is_integer() and 0 <= number <= 1e9):
        raise ControlError(f"rollback takes a version number, got {number!r}")
    return int(number)


def model_name(text: str) -> str:
    """``text`` if it names a model file inside a models folder: a relative path of plain
    names (``lead.ftm``, ``versions/v3.ftm``), no ``..``, no absolute path, no ``~``."""
    parts = text.split("/")
    plain = all(p not in ("", ".", "..") and "\\" not in p and "\0" not in p for p in parts)
    if not (0 < len(text) <= MAX_NAME and plain and not text.startswith("~")):
        raise ControlError(
            f"load takes the name of a model file in the models folder, got {text[:80]!r}"
        )
    if not text.endswith(MODEL_SUFFIX):
        raise ControlError(f"load: {text[:80]!r} is not a {MODEL_SUFFIX} model file")
    return text


def model_path(folder: Path | None, name: str) -> Path:
    """The file ``name`` is inside ``folder``; ``ControlError`` if there is no folder, or the
    name (followed through links) leaves it or is not a file."""
    if folder is None:
        raise ControlError("load: this run has no models folder (give --models-dir)")
    root = folder.resolve()
    path = (root / model_name(name)).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ControlError(f"load: {name!r} is not a model file in {root}")
    return path


def _text(verb: str, args: Sequence[object]) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise ControlError(f"{verb} takes one string, got {shown(args)}")
    return args[0]


def parse_command(verb: str, args: Sequence[object]) -> Command:
    """Build the command for ``verb`` with ``args``; ``ControlError`` if either is invalid."""
    if verb in BY_VERB:
        return SetSetting(verb, BY_VERB[verb].parse(args))
    match verb:
        case "mode":
            return SetMode(get_mode(_text(verb, args)).name)
        case "pause":
            return SetPause(flag(verb, args) if args else None)  # none: toggle
        case "reset":
            return Reset()
        case "range":
            i, low, high = _numbers(verb, args)
            return SetRange(int(i), low, high)
        case "hold":
            i, value = _numbers(verb, args)
            return Hold(int(i), value)
        case "release":
            return Release(int(_numbers(verb, args)[0]))
        case "controltemp":
            i, value = _numbers(verb, args)
            return SetControlTemp(int(i), value)
        case "dtrange":
            low, high = _numbers(verb, args)
            return SetDtRange(low, high)
        case "unconstrain":
            return Unconstrain()
        case "load":
            return LoadModel(_text(verb, args))
        case "take":
            return NewTake(_text(verb, args))
        case "learn":
            return Learn()
        case "rollback":
            return Rollback(_version(args))
    raise ControlError(f"unknown command {verb[:40]!r} (valid: {', '.join(VERBS)})")
