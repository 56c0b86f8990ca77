"""The live settings' command-line options (``--pi-temp``, ``--thru/--no-thru``, ...), one per
row of ``foretell.settings.SETTINGS``; each passes its value by the setting's ``field`` name
(``None`` when not given) and ``live_overrides`` lays the given ones over a config."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from foretell.config import RunConfig, override
from foretell.settings import SETTINGS

F = TypeVar("F", bound=Callable[..., Any])


def live_options() -> list[Callable[[F], F]]:
    """One click option per live setting: a number takes a float, a flag is ``--X/--no-X``."""
    return [
        click.option(
            setting.option,
            setting.field,
            type=float if setting.kind == "number" else None,
            default=None,
            help=setting.help,
        )
        for setting in SETTINGS
    ]


def live_overrides(config: RunConfig, values: Mapping[str, Any]) -> RunConfig:
    """``config`` with each given live setting (by ``field``; ``None``: not given) at its key."""
    unknown = set(values) - {setting.field for setting in SETTINGS}
    if unknown:
        raise TypeError(f"no live setting {sorted(unknown)[0]!r}")
    for setting in SETTINGS:
        value = values.get(setting.field)
        config = override(config, setting.section, **{setting.key: value})
    return config
