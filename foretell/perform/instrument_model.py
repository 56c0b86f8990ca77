"""The model an instrument plays: its voice, the voice's latest prediction, and its time.

Time (IMPSY 1.0's rules, its conformance vectors #101 and #103): the voice is fed each event with
dt = the time since the previous event it was fed (for the first, since the instrument started or
was reset), unless the caller gives the dt. It knows nothing of modes, turns, logs or sinks
(``foretell.perform.turn_driver`` decides when to feed and sample it).
"""

from __future__ import annotations

import numpy as np

from foretell.events import controls_of
from foretell.limits import MAX_MODEL_DT
from foretell.model.constraints import Constraints
from foretell.model.protocol import Voice
from foretell.perform import steering
from foretell.perform.instrument_settings import Settings

PRIME_DT = 0.1  # seconds: the interval of the neutral event that primes a fresh model


class InstrumentModel:
    """One instrument's voice (None: it plays without a model) and the state around it."""

    def __init__(self, runtime: Voice | None, dimension: int | None, name: str | None) -> None:
        if runtime is not None:
            if dimension not in (None, runtime.model.dimension):
                raise ValueError(f"dimension {dimension} differs from the model's")
            dimension = runtime.model.dimension
        self.runtime = runtime
        self.name = name  # the model file it plays, for displays
        self.dimension = dimension
        self.prediction: np.ndarray | None = None  # the voice's output for the next event
        self.last_fed: float | None = None
        self.fed_values: tuple[float, ...] = ()  # the controls of the event it last saw
        self._origin: float | None = None  # when it started (or was reset): the first input's dt
        self._steered: tuple[Constraints, float, Constraints] | None = None

    def begin(self, t: float) -> None:
        """The instrument starts at ``t``: the first event fed is timed from here."""
        self._origin = t

    def reset(self, t: float) -> None:
        """Forget the voice's state and prediction; time the next event from ``t``."""
        if self.runtime is not None:
            self.runtime.reset()
        self.prediction = None
        self.last_fed = None
        self._origin = t

    def feed(self, t: float, values: tuple[float, ...], dt: float | None = None) -> None:
        """Condition the voice on an event at ``t`` (dt defaults to the time since the last)."""
        assert self.runtime is not None
        if dt is None:
            since = self.last_fed if self.last_fed is not None else self._origin
            dt = 0.0 if since is None else max(t - since, 0.0)
        self.prediction = self.runtime.observe(np.array([dt, *values]))
        self.last_fed, self.fed_values = t, values

    def prime(self, t: float) -> None:
        """Feed a neutral event (a fresh voice has no prediction to draw from)."""
        assert self.dimension is not None
        self.feed(t, (0.5,) * controls_of(self.dimension), dt=PRIME_DT)

    def sample(
        self, settings: Settings, holds: dict[int, float] | None = None
    ) -> tuple[float, tuple[float, ...]]:
        """Draw the next event from the prediction: (dt in the model's time, values)."""
        assert self.runtime is not None and self.prediction is not None
        constraints = self._model_constraints(settings, holds)
        s = settings
        x = self.runtime.sample(
            self.prediction, s.pi_temp, s.sigma_temp, constraints, s.activity_temp
        )
        return min(float(x[0]), MAX_MODEL_DT), tuple(min(max(float(v), 0.0), 1.0) for v in x[1:])

    def _model_constraints(
        self, settings: Settings, holds: dict[int, float] | None = None
    ) -> Constraints:
        """The constraints in the model's own time (kept while neither they nor timescale
        change, so the runtime keeps its plan for them)."""
        key = (settings.constraints, settings.timescale)
        if self._steered is None or self._steered[0] is not key[0] or self._steered[1] != key[1]:
            self._steered = (settings.constraints, settings.timescale, steering.for_model(*key))
        constraints = self._steered[2]
        return constraints.with_holds(holds) if holds else constraints

    def swap(self, runtime: Voice, name: str | None) -> str | None:
        """Play ``runtime`` from now on, carrying the state (and the prediction still to be
        drawn) over where the new model takes them; why not, if it cannot play here."""
        model = runtime.model
        if self.dimension is not None and model.dimension != self.dimension:
            return f"model has dimension {model.dimension}, not {self.dimension}"
        old = self.runtime
        if old is not None and old.model.carries_state(model):
            runtime.set_state(old.get_state())
        if old is not None and not (
            old.model.carries_state(model) and model.reads_prediction(old.model)
        ):
            self.prediction = None
        self.runtime = runtime
        self.name = name or self.name
        if self.dimension is None:
            self.dimension = model.dimension
        return None

    @property
    def expected(self) -> tuple[float, ...] | None:
        """The prediction as plain numbers (displays)."""
        raw = self.prediction
        return None if raw is None else tuple(float(v) for v in raw)
