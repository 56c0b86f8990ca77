"""Plain names: what a take, a dataset or a model may be called where a name becomes a file.

A plain name is 1 to ``MAX_LENGTH`` letters, digits, ``_`` and ``-``, starting with a letter or
a digit: never a path (no ``/``, ``\\``, ``..``, ``~``, no dot at all), never hidden, the same on
every file system. ``plain_name`` checks one and says, in one line, what is wrong with it.
"""

from __future__ import annotations

import re

MAX_LENGTH = 64
MODEL_SUFFIX = ".ftm"  # a foretell model file's name ends so (docs/model-format.md)
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class BadName(ValueError):
    """A name that is not plain (its message says why, in one line)."""


def plain_name(text: object, what: str = "name") -> str:
    """``text`` if it is a plain name; ``BadName`` naming ``what`` otherwise."""
    if not isinstance(text, str):
        raise BadName(f"{what} must be a string, got {type(text).__name__}")
    shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
    if not text:
        raise BadName(f"{what} is empty")
    if len(text) > MAX_LENGTH:
        raise BadName(f"{what} {shown} is longer than {MAX_LENGTH} characters")
    if not _PLAIN.fullmatch(text):
        raise BadName(
            f"{what} {shown} is not a plain name (letters, digits, _ and -, starting with a "
            "letter or digit; no paths)"
        )
    return text
