"""The kinds of model foretell knows: a model file's ``kind`` -> the module that implements it.

Each module named here exposes ``KIND`` (``foretell.model.protocol.Kind``): the kind's spec
reader and its builder. A module is imported the first time a file of its kind is read, so a
kind costs nothing until it is used. A file whose metadata names no kind is ``dense``. How to
write a new kind: ``foretell.model.protocol``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType, ModuleType

from foretell.errors import ModelFileError

DEFAULT_KIND = "dense"  # what every file without a ``kind`` holds (all files before kinds)
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "dense": "foretell.model.runtime",  # the MDRNN: stacked LSTM + Gaussian mixture
        "moves": "foretell.model.moves",  # which controls move, grids and sets (issue 31)
    }
)


def kind_module(name: object) -> ModuleType:
    """The module of the kind called ``name``; ``ModelFileError`` for a kind not in ``KINDS``."""
    if not isinstance(name, str) or name not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ModelFileError(f"model kind {name!r} is unknown (this foretell knows {known})")
    return importlib.import_module(KINDS[name])
