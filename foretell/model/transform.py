"""The map between the data space and the network space, and its Jacobian.

Data space: an event ``x = (dt, x1..xN)`` with dt in seconds (> 0) and controls in [0, 1].
Network space: ``z = (t(x) - loc) / scale`` per dimension, where ``t`` is

- for dt, kind ``log``: ``t(dt) = log(dt + dt_offset)``; kind ``linear``: ``t(dt) = dt``;
- for controls: the identity.

``log|dz/dx| = -log(dt + dt_offset) - sum(log scale)`` (``log`` kind) is what turns a density over
``z`` into a density over ``x``: ``log p(x) = log p(z(x)) + log|dz/dx|``. Every NLL foretell reports
is in the data space, per event, in nats.

Going back (``from_net``) always gives a valid event: dt is at least ``dt_min`` and controls are
clipped to [0, 1]. The offset keeps the log finite and its Jacobian bounded for the sub-millisecond
intervals that some sessions are full of, while long pauses stay a few standard deviations away
instead of hundreds (as they are with a Gaussian on raw dt).
This module does not know about mixtures or networks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from foretell.errors import ModelFileError
from foretell.model.checks import number, numbers

DtKind = Literal["log", "linear"]
# log(dt + 40 ms): about twice the median interval, so sub-millisecond bursts (common in some
# LightPad sessions, absent from others) sit near the bulk, not many deviations below it, while
# long pauses stay on a log scale. Smaller offsets score the same on the training set's own
# validation and worse on sessions the model never saw (docs/evaluation/choices.md,
# "The dt offset").
DEFAULT_DT_OFFSET = 0.04  # seconds: what training uses (foretell.train.config.TrainConfig)
DEFAULT_DT_MIN = 1e-4  # seconds: the smallest interval a sample may return
MIN_SCALE = 0.02
MAX_LOG_DT = 700.0  # the largest log dt the inverse takes: exp() overflows float64 past ~709


@dataclass(frozen=True)
class DataTransform:
    """Per-dimension affine map after an optional log of dt (see the module docstring)."""

    dt_kind: DtKind
    dt_offset: float
    loc: tuple[float, ...]
    scale: tuple[float, ...]
    dt_min: float = DEFAULT_DT_MIN

    @property
    def dimension(self) -> int:
        return len(self.loc)

    # -- fitting and (de)serialising ---------------------------------------------------------

    @classmethod
    def fit(cls, events: np.ndarray, dt_offset: float = DEFAULT_DT_OFFSET) -> DataTransform:
        """Standardise ``log(dt + offset)`` and each control by its mean and spread."""
        events = np.asarray(events, dtype=np.float64)
        u = events.copy()
        u[:, 0] = np.log(u[:, 0] + dt_offset)
        loc = u.mean(axis=0)
        scale = np.maximum(u.std(axis=0), MIN_SCALE)
        return cls("log", dt_offset, tuple(map(float, loc)), tuple(map(float, scale)))

    @classmethod
    def scaled(cls, dimension: int, factor: float) -> DataTransform:
        """IMPSY's transform: every value (raw dt too) multiplied by ``factor`` (SCALE_FACTOR)."""
        return cls("linear", 0.0, (0.0,) * dimension, (1.0 / factor,) * dimension)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["loc"], data["scale"] = list(self.loc), list(self.scale)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> DataTransform:
        """The transform in a file's metadata, every value checked (``ModelFileError``)."""
        where = "model transform"
        if not isinstance(data, dict):
            raise ModelFileError(f"{where} must be an object, not {type(data).__name__}")
        kind = data.get("dt_kind")
        if kind not in ("log", "linear"):
            raise ModelFileError(f"{where} has unknown dt kind {kind!r}")
        low_offset = 1e-9 if kind == "log" else 0.0  # log(dt + offset) needs offset > 0
        loc = numbers(data, "loc", -1e6, 1e6, where)
        scale = numbers(data, "scale", 1e-9, 1e6, where)
        if len(loc) != len(scale) or not 2 <= len(loc) <= 1024:
            raise ModelFileError(f"{where} needs one scale per location (2..1024 of each)")
        return cls(
            dt_kind=kind,
            dt_offset=number(data, "dt_offset", low_offset, 1e3, where),
            loc=loc,
            scale=scale,
            dt_min=number(data, "dt_min", 0.0, 10.0, where, DEFAULT_DT_MIN),
        )

    # -- the map -----------------------------------------------------------------------------

    def dt_to_net_units(self, dt: np.ndarray) -> np.ndarray:
        """dt (seconds) before the affine step: ``log(dt + offset)`` or dt itself (monotonic)."""
        return np.log(dt + self.dt_offset) if self.dt_kind == "log" else dt

    def dt_from_net_units(self, u: np.ndarray) -> np.ndarray:
        """The inverse of ``dt_to_net_units``: seconds, at least ``dt_min`` (never inf)."""
        dt = np.exp(np.minimum(u, MAX_LOG_DT)) - self.dt_offset if self.dt_kind == "log" else u
        return np.maximum(dt, self.dt_min)

    def one_dt_from_net_units(self, u: float) -> float:
        """``dt_from_net_units`` for one Python float (the fast path of sampling)."""
        dt = math.exp(min(u, MAX_LOG_DT)) - self.dt_offset if self.dt_kind == "log" else u
        return max(dt, self.dt_min)

    def to_net(self, events: np.ndarray) -> np.ndarray:
        """Data space ``(..., D)`` -> network space ``(..., D)`` as float32."""
        events = np.asarray(events, dtype=np.float64)
        u = events.copy()
        u[..., 0] = self.dt_to_net_units(events[..., 0])
        return ((u - np.asarray(self.loc)) / np.asarray(self.scale)).astype(np.float32)

    def from_net(self, z: np.ndarray) -> np.ndarray:
        """Network space ``(..., D)`` -> a valid event (dt >= dt_min, controls in [0, 1])."""
        u = np.asarray(z, dtype=np.float64) * np.asarray(self.scale) + np.asarray(self.loc)
        events = np.empty_like(u)
        events[..., 0] = self.dt_from_net_units(u[..., 0])
        events[..., 1:] = np.clip(u[..., 1:], 0.0, 1.0)
        return events

    def log_abs_det_jacobian(self, events: np.ndarray) -> np.ndarray:
        """``log|dz/dx|`` for each event in ``events (..., D)``, shape ``(...)``."""
        events = np.asarray(events, dtype=np.float64)
        constant = -float(np.sum(np.log(self.scale)))
        if self.dt_kind == "log":
            return constant - np.log(events[..., 0] + self.dt_offset)
        return np.full(events.shape[:-1], constant)

    def event_from_net(self, z: list[float]) -> list[float]:
        """``from_net`` for one event as Python floats (the fast path of sampling)."""
        u = [v * s + c for v, s, c in zip(z, self.scale, self.loc, strict=True)]
        return [self.one_dt_from_net_units(u[0]), *(min(max(v, 0.0), 1.0) for v in u[1:])]
