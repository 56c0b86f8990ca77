"""The live settings' config keys, made from their table (``foretell.settings.SETTINGS``).

``live_keys(settings)`` gives a config dataclass one field per setting, named by its config key
(``pi_temp`` of ``model.pi_temp``), typed by its kind (a number ``float``, a flag ``bool``) and
defaulting to the row's default; with ``inherit=True`` each is ``None`` by default (an
``[instrument.NAME]`` key that takes the top-level section's value). It goes under
``@dataclass``, so TOML reading (``foretell.config.run``) checks and names these keys as it does
the others::

    @dataclass(frozen=True)
    @live_keys(in_section("model"))
    class ModelConfig: ...

``check_live_keys(config, settings, section)`` checks each number against its range, as a
section's ``__post_init__`` does (one ``ConfigError`` naming ``section.key``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from foretell.errors import ConfigError
from foretell.settings import Setting

T = TypeVar("T")


def live_keys(settings: Sequence[Setting], inherit: bool = False) -> Callable[[type[T]], type[T]]:
    """Add a field per setting to the class about to become a dataclass (module docstring)."""

    def add(cls: type[T]) -> type[T]:
        annotations = inspect.get_annotations(cls)
        for setting in settings:
            kind: Any = float if setting.kind == "number" else bool
            annotations[setting.key] = kind | None if inherit else kind
            setattr(cls, setting.key, None if inherit else setting.default)
        cls.__annotations__ = annotations
        return cls

    return add


def check_live_keys(config: object, settings: Sequence[Setting], section: str) -> None:
    """``ConfigError`` naming ``section.key`` for a number outside its setting's range."""
    for setting in settings:
        value = getattr(config, setting.key)
        if setting.allowed is None or value is None:
            continue
        try:
            setting.check(value)
        except ValueError:
            raise ConfigError(
                f"{section}.{setting.key} = {value!r} is invalid (expected a finite number in "
                f"{setting.describe()})"
            ) from None
