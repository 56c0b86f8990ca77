"""Live-control commands: what a performer (OSC, later the dashboard) may ask the engine to do.

A command is a small frozen value; ``parse_command(name, args)`` builds one from a transport's
verb and arguments (e.g. OSC ``/foretell/mode s`` -> ``parse_command("mode", ["filter"])``) and
raises ``ControlError`` naming what is wrong. The engine applies commands on its own loop, between
events (see ``Engine.command``); nothing here touches engine state.

Verbs (IMPSY's names, which foretell shares): ``mode NAME``, ``pause [0|1]`` (no argument
toggles), ``reset``, ``pitemp T``, ``sigmatemp T``, ``timescale F``, ``threshold S``,
``thru 0|1``, ``load PATH`` (hot-load a model file without stopping), ``learn`` (fine-tune now,
with ``foretell run --learn``), ``rollback N`` (play model version N of the learned ones again).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from foretell.errors import ControlError
from foretell.perform.modes import get_mode


@dataclass(frozen=True)
class SetMode:
    mode: str


@dataclass(frozen=True)
class SetPause:
    paused: bool | None  # None toggles


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class SetPiTemp:
    value: float


@dataclass(frozen=True)
class SetSigmaTemp:
    value: float


@dataclass(frozen=True)
class SetTimescale:
    value: float


@dataclass(frozen=True)
class SetThreshold:
    value: float


@dataclass(frozen=True)
class SetThru:
    enabled: bool


@dataclass(frozen=True)
class LoadModel:
    path: Path


@dataclass(frozen=True)
class Learn:
    pass


@dataclass(frozen=True)
class Rollback:
    version: int


Command = (
    SetMode
    | SetPause
    | Reset
    | SetPiTemp
    | SetSigmaTemp
    | SetTimescale
    | SetThreshold
    | SetThru
    | LoadModel
    | Learn
    | Rollback
)
VERBS = (
    *("mode", "pause", "reset", "pitemp", "sigmatemp", "timescale", "threshold", "thru", "load"),
    *("learn", "rollback"),
)
IMPSY_VERBS = ("mode", "pause", "reset", "pitemp", "sigmatemp", "timescale")


def _number(verb: str, args: Sequence[object], low: float, strict: bool = False) -> float:
    if len(args) != 1 or isinstance(args[0], bool) or not isinstance(args[0], int | float):
        raise ControlError(f"{verb} takes one number, got {list(args)!r}")
    value = float(args[0])
    if not math.isfinite(value) or value < low or (strict and value == low):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise ControlError(f"{verb} must be a finite number {bound}, got {value!r}")
    return value


def _flag(verb: str, args: Sequence[object]) -> bool | None:
    if not args:
        return None
    value = args[0]
    if isinstance(value, str) and value.lower() in ("0", "1", "true", "false", "on", "off"):
        return value.lower() in ("1", "true", "on")
    if isinstance(value, bool | int | float):
        return bool(value)
    raise ControlError(f"{verb} takes 0 or 1, got {list(args)!r}")


def _text(verb: str, args: Sequence[object]) -> str:
    if len(args) != 1 or not isinstance(args[0], str):
        raise ControlError(f"{verb} takes one string, got {list(args)!r}")
    return args[0]


def parse_command(verb: str, args: Sequence[object]) -> Command:
    """Build the command for ``verb`` with ``args``; ``ControlError`` if either is invalid."""
    match verb:
        case "mode":
            return SetMode(get_mode(_text(verb, args)).name)
        case "pause":
            return SetPause(_flag(verb, args))
        case "reset":
            return Reset()
        case "pitemp":
            return SetPiTemp(_number(verb, args, 0.0))
        case "sigmatemp":
            return SetSigmaTemp(_number(verb, args, 0.0))
        case "timescale":
            return SetTimescale(_number(verb, args, 0.0, strict=True))
        case "threshold":
            return SetThreshold(_number(verb, args, 0.0))
        case "thru":
            enabled = _flag(verb, args)
            if enabled is None:
                raise ControlError("thru takes 0 or 1")
            return SetThru(enabled)
        case "load":
            return LoadModel(Path(_text(verb, args)).expanduser())
        case "learn":
            return Learn()
        case "rollback":
            number = _number(verb, args, 0.0)
            if not number.is_integer():
                raise ControlError(f"rollback takes a version number, got {number!r}")
            return Rollback(int(number))
    raise ControlError(f"unknown command {verb!r} (valid: {', '.join(VERBS)})")
