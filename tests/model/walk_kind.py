"""A second kind of model, written only against ``foretell.model.protocol``: the test that a kind
plugs in as a new module plus one line in ``foretell.model.kinds.KINDS``.

Kind ``walk``: each value of the next event is its value now plus Gaussian noise, in the network
space of a ``DataTransform`` (``log(dt + offset)`` for dt), one spread per dimension (its only
tensor, ``spread``). Simple, but a real model: its likelihood is exact (it scores without
constraints only), its samples obey the constraints (held controls exactly, ranges by clamping to
the bound), its voices share the weights and keep their own state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from foretell.model.constraints import Constraints
from foretell.model.fileformat import ModelFile
from foretell.model.protocol import Kind, Voice
from foretell.model.transform import DataTransform

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class WalkSpec:
    kind: ClassVar[str] = "walk"
    dimension: int
    transform: DataTransform

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"spread": (self.dimension,)}

    def parameter_count(self) -> int:
        return self.dimension

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "transform": self.transform.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> WalkSpec:
        transform = DataTransform.from_dict(data["transform"])
        return cls(transform.dimension, transform)


class WalkModel:
    kind = "walk"

    def __init__(self, file: ModelFile[WalkSpec]) -> None:
        self.file = file
        self.spec = file.spec
        self.spread = np.array(file.weights["spread"], dtype=np.float32)
        self.spread.flags.writeable = False

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def voice(self, rng: np.random.Generator | None = None) -> WalkVoice:
        return WalkVoice(self, rng if rng is not None else np.random.default_rng())

    def step(self, voices: Sequence[Voice], events: Sequence[np.ndarray]) -> None:
        for voice, event in zip(voices, events, strict=True):
            voice.observe(event)

    def log_likelihood(
        self, predictions: np.ndarray, events: np.ndarray, constraints: Constraints | None = None
    ) -> np.ndarray:
        d = self.dimension
        z = self.spec.transform.to_net(events).astype(np.float64)
        mu, sigma = predictions[..., :d], predictions[..., d:]
        log_p = -0.5 * (((z - mu) / sigma) ** 2 + 2 * np.log(sigma) + LOG_2PI).sum(-1)
        return log_p + self.spec.transform.log_abs_det_jacobian(events)

    def carries_state(self, other: Any) -> bool:
        return isinstance(other, WalkModel) and other.dimension == self.dimension

    def reads_prediction(self, other: Any) -> bool:
        return self.carries_state(other)

    def describe(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "params": self.spec.parameter_count()}

    def expected(
        self,
        prediction: np.ndarray,
        pi_temp: float,
        sigma_temp: float,
        activity_temp: float = 1.0,
    ) -> dict[str, Any]:
        d, t = self.dimension, self.spec.transform
        centre = t.from_net(prediction[:d].astype(np.float64))
        x = [[float(v), float(v), float(v)] for v in centre[1:]]
        component = {"w": 1.0, "dt": [float(centre[0])] * 3, "x": x}
        return {"components": [component], "dt": float(centre[0])}


class WalkVoice:
    def __init__(self, model: WalkModel, rng: np.random.Generator) -> None:
        self.model = model
        self.rng = rng
        d = model.dimension
        self.prediction = np.zeros(2 * d, dtype=np.float32)
        self._last = np.zeros(d, dtype=np.float32)

    def observe(self, event: np.ndarray) -> np.ndarray:
        d = self.model.dimension
        self._last[:] = self.model.spec.transform.to_net(np.asarray(event, dtype=np.float64))
        self.prediction[:d] = self._last
        self.prediction[d:] = self.model.spread
        return self.prediction

    def sample(
        self,
        prediction: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,  # a walk moves every control: nothing to temper
    ) -> np.ndarray:
        d = self.model.dimension
        noise = self.rng.standard_normal(d) * math.sqrt(max(sigma_temp, 0.0))
        z = prediction[:d].astype(np.float64) + prediction[d:] * noise
        event = self.model.spec.transform.from_net(z)
        if constraints is not None:
            for i, (lo, hi) in constraints.ranges.items():
                event[i + 1] = min(max(event[i + 1], lo), hi)
            for i, value in constraints.holds.items():
                event[i + 1] = value
            if constraints.dt_range is not None:
                event[0] = min(max(event[0], constraints.dt_range[0]), constraints.dt_range[1])
        return event

    def predict(
        self,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        return self.sample(self.prediction, pi_temp, sigma_temp, constraints)

    def reset(self) -> None:
        self._last[:] = 0.0
        self.prediction[:] = 0.0

    def get_state(self) -> object:
        return self._last.copy()

    def set_state(self, state: object) -> None:
        self._last[:] = np.asarray(state)


def _build(file: ModelFile) -> WalkModel:
    return WalkModel(file)


KIND = Kind("walk", read_spec=WalkSpec.from_dict, build=_build)
