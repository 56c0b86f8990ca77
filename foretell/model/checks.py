"""Checked reads of numbers from a model file's metadata (hostile until checked).

Each takes the parsed JSON object, a key and the allowed range, and returns the value or raises
``ModelFileError`` naming the key, what it holds and what was expected. JSON booleans are not
numbers here, and neither are NaN or infinities.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from foretell.errors import ModelFileError

_MISSING = object()


def _value(data: dict[str, Any], key: str, where: str, default: object) -> object:
    value = data.get(key, default)
    if value is _MISSING:
        raise ModelFileError(f"{where} lacks {key!r}")
    return value


def _real(value: object, key: str, low: float, high: float, where: str) -> float:
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer beyond any float stays NaN
            number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ModelFileError(
            f"{where}: {key} = {repr(value)[:40]} is invalid "
            f"(expected a number in [{low:g}, {high:g}])"
        )
    return number


def number(
    data: dict[str, Any], key: str, low: float, high: float, where: str, default: object = _MISSING
) -> float:
    return _real(_value(data, key, where, default), key, low, high, where)


def integer(data: dict[str, Any], key: str, low: int, high: int, where: str) -> int:
    value = _real(_value(data, key, where, _MISSING), key, low, high, where)
    if not value.is_integer():
        raise ModelFileError(f"{where}: {key} = {value!r} is invalid (expected an integer)")
    return int(value)


def numbers(
    data: dict[str, Any], key: str, low: float, high: float, where: str
) -> tuple[float, ...]:
    values = _value(data, key, where, _MISSING)
    if not isinstance(values, list):
        raise ModelFileError(f"{where}: {key} must be a list of numbers")
    return tuple(_real(v, f"{key}[{i}]", low, high, where) for i, v in enumerate(values))
