"""When to fine-tune: every N user events, every S seconds, or only on demand.

``parse_schedule("every=200")``, ``"every=200 events"``, ``"every=30s"``, ``"every=30 seconds"``,
``"on demand"`` (also ``"demand"``). A schedule only answers whether a fine-tune is due; the
coordinator counts and times, and a request (``/foretell/learn``) works under every schedule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from foretell.errors import ConfigError

_EVERY = re.compile(r"every\s*=?\s*(\d+(?:\.\d*)?)\s*(events?|s|sec|seconds?)?$")


@dataclass(frozen=True)
class LearnSchedule:
    kind: Literal["events", "seconds", "demand"]
    every: float = 0.0

    def due(self, events: int, seconds: float) -> bool:
        """Whether ``events`` user events or ``seconds`` since the last fine-tune call for one."""
        if self.kind == "events":
            return events >= self.every
        if self.kind == "seconds":
            return seconds >= self.every
        return False

    def describe(self) -> str:
        if self.kind == "demand":
            return "on demand"
        unit = "events" if self.kind == "events" else "s"
        return f"every {self.every:g} {unit}"


def parse_schedule(text: str) -> LearnSchedule:
    """The schedule ``text`` names; ``ConfigError`` naming the valid forms otherwise."""
    spec = text.strip().lower()
    if spec in ("on demand", "demand", "on-demand", "manual"):
        return LearnSchedule("demand")
    match = _EVERY.match(spec)
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(
            f"--learn {text!r} is not one of: every=N (events), every=Ns (seconds), on demand"
        )
    unit = match.group(2) or "events"
    kind: Literal["events", "seconds"] = "events" if unit.startswith("event") else "seconds"
    return LearnSchedule(kind, float(match.group(1)))
