"""The ``[dashboard]`` section of a run's config: where the page is served and its presets.

::

    [dashboard]
    enabled = false          # serve it (as --dashboard does; the flag overrides host and port)
    host = "127.0.0.1"       # "0.0.0.0": the LAN, with a per-run token (docs/performance.md)
    port = 8765
    names = []               # more host names the page answers to, e.g. ["stage.local"]

    [[dashboard.preset]]     # named sampling settings every page offers (and may add its own)
    name = "calm"
    pi_temp = 0.5
    sigma_temp = 0.3
    threshold = 0.4
    timescale = 1.2

A preset holds every number setting of ``foretell.settings`` by its config key (``pi_temp``,
``sigma_temp``, ``timescale``, ``threshold``), each defaulting to the setting's default and
checked against its range (one ``ConfigError`` naming the preset).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from foretell.config.live_keys import live_keys
from foretell.errors import ConfigError
from foretell.settings import NUMBERS


@dataclass(frozen=True)
@live_keys(NUMBERS)
class Preset:
    """The number settings (π, σ, timescale, threshold) under a name."""

    name: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ConfigError("dashboard.preset.name must not be empty")
        for setting in NUMBERS:
            try:
                setting.check(getattr(self, setting.key))
            except ValueError as exc:
                raise ConfigError(f"dashboard preset {self.name!r}: {exc}") from None

    def values(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}


@dataclass(frozen=True)
class DashboardConfig:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    names: tuple[str, ...] = ()
    preset: tuple[Preset, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"dashboard.port = {self.port} is invalid (expected 0..65535)")

    def presets(self) -> dict[str, dict[str, float]]:
        """The presets by name, as the page takes them."""
        return {p.name: p.values() for p in self.preset}
