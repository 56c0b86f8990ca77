"""The dashboard's messages, built from what the engine publishes (pure; no I/O, no loop).

Every message is one JSON object with one key naming its kind, the shapes the WebSocket transport
uses for events, plus the dashboard's own:

- ``{"interface": [v, ...], "t": t, "dt": dt, "from": ORIGIN}``: a performer's event (engine
  clock, seconds; ``from`` the kind of source it came through: ``pad``, ``osc``, ``midi``, ...);
- ``{"prediction": [v, ...], "t": t, "dt": dt}``: a model event, as it was played; in an
  ensemble both carry ``"instrument": NAME`` too; both carry ``"moved": [i, ...]``, the 0-based
  controls that moved in the event (``foretell.events.Event.moved``: for a model event the
  controls its model moved, for a dense model every control whose value changed, both against
  the event the model drew it after; for a performer's event those whose value differs from
  the performer's previous event on that instrument), left out where the event does not say;
- ``{"state": {...}}``: mode, temperatures, model, counters, rates, latency, rejections, log
  (``state_message``) of one instrument, the one the page looks at; its ``settings`` holds
  every live setting's value by verb (``{"pitemp": 1.0, ..., "thru": false}``);
- ``{"expect": {...}}``: that instrument's predicted distribution of the next event, in the data
  space, under the current temperatures (its model's ``expected``, ``foretell.model.protocol``;
  a moves model adds ``"moves"``: per control, the probability that it moves in the next event);
- ``{"ensemble": {"now": t, "instruments": [...]}}``: in an ensemble, a compact state of every
  instrument (``strip_state``), one strip each on the page;
- ``{"settings": [{"verb", "kind", "min", "max", "step", "default", "unit", "doc"}, ...]}``: the
  live settings a page may change, one entry per row of ``foretell.settings.SETTINGS`` in its
  order (``settings_message``), sent once when a page connects, after ``hello``. ``verb`` is the
  command that sets it (``{"command": "pitemp", "args": [0.5]}``); ``kind`` is ``"number"`` or
  ``"flag"``; a number takes any value in ``min``..``max`` (the engine refuses others), ``step``
  is the control's step, ``unit`` what follows a value (``"s"``, ``"×"`` or ``""``); a flag is
  ``min`` 0, ``max`` 1, ``step`` 1 and its ``default`` is ``true`` or ``false``.

This module does not know about sockets, frame rates or the page; ``server`` sends what it builds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foretell.events import Event
from foretell.model.protocol import Model
from foretell.modes import MODES
from foretell.perform import steering
from foretell.perform.instrument import InstrumentSnapshot
from foretell.settings import SETTINGS, Setting

# -- sliding windows ------------------------------------------------------------------------------


class RecentValues:
    """Values stamped with a time, kept for the last ``span`` seconds (rates, percentiles)."""

    def __init__(self, span: float, limit: int = 8192) -> None:
        self.span = span
        self._items: deque[tuple[float, float]] = deque(maxlen=limit)

    def add(self, t: float, value: float = 1.0) -> None:
        self._items.append((t, value))

    def _prune(self, now: float) -> None:
        items, start = self._items, now - self.span
        while items and items[0][0] < start:
            items.popleft()

    def rate(self, now: float) -> float:
        """Items per second over the window ending at ``now``."""
        self._prune(now)
        return len(self._items) / self.span

    def percentiles_ms(self, now: float) -> dict[str, float | int | None]:
        """p50 and p99 of the values (seconds) in milliseconds, and how many there were."""
        self._prune(now)
        if not self._items:
            return {"p50": None, "p99": None, "n": 0}
        values = np.fromiter((v for _, v in self._items), float, len(self._items)) * 1e3
        p50, p99 = np.percentile(values, [50, 99])
        return {"p50": float(p50), "p99": float(p99), "n": len(values)}


@dataclass
class Activity:
    """What the dashboard measures itself from the engine's events (see ``server.Publisher``)."""

    inputs: RecentValues
    outputs: RecentValues
    latency: RecentValues  # seconds from an event's due time to when it was played

    @classmethod
    def create(cls, rate_span: float = 2.0, latency_span: float = 5.0) -> Activity:
        return cls(RecentValues(rate_span), RecentValues(rate_span), RecentValues(latency_span))

    def record(self, event: Event, now: float) -> None:
        if event.source == "user":
            self.inputs.add(now)
        else:
            self.outputs.add(now)
            self.latency.add(now, max(now - event.t, 0.0))


# -- the live settings ---------------------------------------------------------------------------


def setting_entry(setting: Setting) -> dict[str, Any]:
    """One setting as a page builds its control (see the module docstring)."""
    low: float = 0
    high: float = 1
    step: float = 1  # a flag
    if setting.allowed is not None:
        low, high, step = setting.allowed.low, setting.allowed.high, setting.step
    return {
        "verb": setting.verb,
        "kind": setting.kind,
        "min": low,
        "max": high,
        "step": step,
        "default": setting.default,
        "unit": setting.unit,
        "doc": setting.doc,
    }


def settings_message() -> dict[str, Any]:
    """``{"settings": [...]}``: every live setting, its range and default, in table order."""
    return {"settings": [setting_entry(setting) for setting in SETTINGS]}


# -- events ---------------------------------------------------------------------------------------


def event_message(event: Event, instrument: str | None = None) -> dict[str, Any]:
    """``{"interface"|"prediction": values, "t", "dt", "moved"}`` for a user or model event.

    ``instrument`` (given in an ensemble) names who played or heard it.
    """
    key = "interface" if event.source == "user" else "prediction"
    message: dict[str, Any] = {key: list(event.values), "t": event.t, "dt": event.dt}
    if event.moved is not None:
        message["moved"] = list(event.moved)
    if event.source == "user":
        message["from"] = event.origin or "other"
    if instrument is not None:
        message["instrument"] = instrument
    return message


# -- state ----------------------------------------------------------------------------------------


def model_info(path: str | None, model: Model | None) -> dict[str, Any] | None:
    """Name and size of the model playing (``None`` without one)."""
    if model is None:
        return None
    return {"name": Path(path).name if path else "(unnamed)", "path": path, **model.describe()}


def state_message(
    snap: InstrumentSnapshot, model: Model | None, activity: Activity
) -> dict[str, Any]:
    """Everything the state panel shows, from one instrument snapshot."""
    s, now = snap.settings, snap.t
    return {
        "state": {
            "now": now,
            "instrument": snap.name,
            "mode": s.mode,
            "modes": list(MODES),
            "generates": MODES[s.mode].generate,
            "paused": s.paused,
            "responding": snap.responding,
            "pi_temp": s.pi_temp,
            "sigma_temp": s.sigma_temp,
            "activity_temp": s.activity_temp,
            "threshold": s.threshold,
            "timescale": s.timescale,
            "thru": s.input_thru,
            "settings": {setting.verb: getattr(s, setting.field) for setting in SETTINGS},
            "constraints": steering.describe(s.constraints),
            "dimension": snap.dimension,
            "model": model_info(snap.model, model),
            "counts": {
                "inputs": snap.inputs,
                "answers": snap.answers,
                "generated": snap.generated,
                "stale": snap.stale,
                "cancelled": snap.cancelled,
            },
            "rates": {"in": activity.inputs.rate(now), "out": activity.outputs.rate(now)},
            "latency_ms": activity.latency.percentiles_ms(now),
            "scheduler_ms": snap.timing_ms,
            "rejected": snap.rejected,
            "log": {"path": snap.log_path, "rows": snap.log_rows},
            "learning": snap.learning,
        }
    }


def strip_state(snap: InstrumentSnapshot, activity: Activity) -> dict[str, Any]:
    """One instrument's strip in an ensemble: what its strip shows and its controls reflect."""
    s, now = snap.settings, snap.t
    return {
        "name": snap.name,
        "mode": s.mode,
        "paused": s.paused,
        "responding": snap.responding,
        "pi_temp": s.pi_temp,
        "sigma_temp": s.sigma_temp,
        "dimension": snap.dimension,
        "model": Path(snap.model).name if snap.model else None,
        "inputs": snap.inputs,
        "outputs": snap.answers + snap.generated,
        "rejected": sum(snap.rejected.values()),
        "rates": {"in": activity.inputs.rate(now), "out": activity.outputs.rate(now)},
    }


def ensemble_message(now: float, strips: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"ensemble": ...}``: every instrument's strip, in the engine's order."""
    return {"ensemble": {"now": now, "instruments": list(strips)}}


# -- what the model expects -----------------------------------------------------------------------


def expect_message(
    model: Model | None, snap: InstrumentSnapshot, t0: float | None
) -> dict[str, Any]:
    """``{"expect": ...}``: the expectation, its instrument, its start (``t0``), who plays it."""
    if model is None or snap.expected is None:
        return {"expect": None}
    s = snap.settings
    prediction = np.asarray(snap.expected, dtype=np.float32)
    body = model.expected(prediction, s.pi_temp, s.sigma_temp, s.activity_temp)
    generates = MODES[s.mode].generate
    body["instrument"] = snap.name
    body["t0"] = snap.t if t0 is None else t0
    body["timescale"] = s.timescale
    body["model_plays"] = not s.paused and (
        generates == "always" or (generates == "when_silent" and snap.responding)
    )
    return {"expect": body}
