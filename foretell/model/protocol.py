"""The model seam: what foretell asks of a model of any kind, and how a kind plugs in.

Two objects make a model at performance time (NumPy only, never torch):

- a ``Model``: one kind's architecture and weights, built once from a ``ModelFile`` and never
  changed afterwards, so any number of voices (performers, ensemble instruments) share it;
- a ``Voice``: one performer's state on a model (recurrent state, generator, scratch buffers).
  ``observe(event)`` conditions it on an event and returns its ``Prediction`` of the next one;
  ``sample(prediction, ...)`` draws that next event; ``predict(...)`` is the two composed on the
  latest prediction; ``reset()`` forgets everything played.

An event is a data-space vector ``(dt, x1..xN)``: dt in seconds (> 0), controls in [0, 1]
(``foretell.model.transform``). A ``Prediction`` is a flat float array whose meaning only the
kind knows (the dense MDRNN's is the raw mixture parameters, ``foretell.model.mixture``, in
float32; the moves model's ends with the event it follows, in float64); callers
keep it, pass it back to ``sample``, ``Model.log_likelihood`` and ``Model.expected``, and copy it
to keep it past the voice's next ``observe``.

``Model.step(voices, events)`` conditions any number of its voices at once, each exactly as its
own ``observe`` would (to float32 rounding): batching (``foretell.perform.batching``) groups voices
by model and calls it; nothing else needs to know whether a voice is stepped alone or together.

**How a new kind plugs in** (a new module plus one line, no edits across the tree):

1. Write ``foretell/model/<kind>.py`` (and its training under ``foretell/train/``) with

   - a frozen spec class satisfying ``Spec``: a class attribute ``kind = "<kind>"`` (the name
     written to the model file's metadata), ``dimension``, ``tensor_shapes()``,
     ``parameter_count()``, ``to_dict()`` and a reader of ``to_dict``'s output that raises
     ``ModelFileError`` naming the first bad value;
   - a model class satisfying ``Model`` and a voice class satisfying ``Voice``;
   - ``KIND = Kind("<kind>", read_spec=<the reader>, build=<ModelFile -> Model>)`` at module level.

2. Add ``"<kind>": "foretell.model.<kind>"`` to ``foretell.model.kinds.KINDS``.

``save_model(path, ModelFile(spec, weights, info))`` then writes ``"kind": spec.kind`` into the
file's metadata; ``load_model`` reads it back through the kind's ``read_spec`` and checks the
tensors against ``spec.tensor_shapes()``; ``build_model(file)`` and ``load_voice(path, seed)``
give the kind's model and a voice on it. ``foretell run``, ``generate``, ``trace`` and ``info``,
batching, the dashboard and hot swap then work unchanged (``tests/model/walk_kind.py`` is a small
kind that shows it, ``tests/model/test_second_kind.py`` the proof). Learning while playing
fine-tunes the kinds in ``foretell.learn.coordinator.FINE_TUNED_KINDS`` (dense, moves); a kind that
wants it brings its fine-tuning. A file without a kind is dense (every file written before kinds
existed).

What a kind must keep: ``sample`` draws from the voice's own generator in a fixed order (same
seed, same events, same output), returns a valid event (dt >= its minimum, controls in [0, 1])
and honours ``Constraints`` (a held control is returned at exactly its value, ranges are never
left); ``log_likelihood`` is in nats per event in the data space (``-inf`` outside a range).
This module holds only the contract and the factory; the dense MDRNN is ``foretell.model.runtime``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from foretell.model.constraints import Constraints
from foretell.model.fileformat import FileSpec, ModelFile, load_model
from foretell.model.kinds import kind_module

Spec = FileSpec  # what a model file needs of an architecture (``foretell.model.fileformat``)
Prediction = np.ndarray  # a kind's own flat float32 or float64 description of the next event


class Voice(Protocol):
    """One performer's state on a ``Model``; not shared, not thread-safe (call it on one loop)."""

    @property
    def model(self) -> Model:
        """The shared, immutable model this voice plays."""
        ...

    @property
    def rng(self) -> np.random.Generator:
        """The generator every draw of this voice comes from."""
        ...

    @property
    def prediction(self) -> Prediction:
        """The latest prediction: one buffer for the voice's life, filled in place by each
        ``observe`` and by its model's ``step`` (zeros before the first)."""
        ...

    def observe(self, event: np.ndarray) -> Prediction:
        """Condition on ``event`` and return the prediction of the next event (``prediction``,
        overwritten by the next ``observe``)."""
        ...

    def sample(
        self,
        prediction: Prediction,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        """Draw the next event from ``prediction`` under the temperatures and constraints
        (``activity_temp``: how many controls move, for a kind that draws which controls move;
        1 leaves the model as it learned, a kind without moving sets ignores it)."""
        ...

    def predict(
        self,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        """Draw the next event from the latest prediction (``sample`` of what ``observe`` gave)."""
        ...

    def reset(self) -> None:
        """Forget everything observed (the state of a fresh voice)."""
        ...

    def get_state(self) -> object:
        """A copy of the state, for ``set_state`` on a voice of a model it ``carries_state`` to."""
        ...

    def set_state(self, state: object) -> None: ...


class Model(Protocol):
    """One kind's architecture and weights: immutable, shared by every voice made from it."""

    @property
    def file(self) -> ModelFile:
        """What it was built from (spec, weights, info): the learner adopts and saves it."""
        ...

    @property
    def kind(self) -> str: ...

    @property
    def dimension(self) -> int:
        """Values per event: dt and the controls."""
        ...

    def voice(self, rng: np.random.Generator | None = None) -> Voice:
        """A fresh voice on this model drawing from ``rng`` (a new unseeded one by default)."""
        ...

    def step(self, voices: Sequence[Voice], events: Sequence[np.ndarray]) -> None:
        """Condition ``voices[i]`` (each a voice of this model) on ``events[i]``, all at once."""
        ...

    def log_likelihood(
        self,
        predictions: np.ndarray,
        events: np.ndarray,
        constraints: Constraints | None = None,
    ) -> np.ndarray:
        """``log p(events[i] | predictions[i])`` in nats, data space: ``(n, P), (n, D) -> (n,)``."""
        ...

    def carries_state(self, other: Model) -> bool:
        """Whether a voice of ``other`` may take this model's voice state (hot swap)."""
        ...

    def reads_prediction(self, other: Model) -> bool:
        """Whether this model's voices can ``sample`` a prediction made by ``other``."""
        ...

    def describe(self) -> dict[str, Any]:
        """Its size for displays: ``dimension`` and ``params`` at least, then what the kind has."""
        ...

    def expected(
        self,
        prediction: Prediction,
        pi_temp: float,
        sigma_temp: float,
        activity_temp: float = 1.0,
    ) -> dict[str, Any]:
        """The next event as the sampler would draw it now, for the dashboard: ``components``,
        each ``{"w": weight, "dt": [median, lo, hi], "x": [[mean, lo, hi] per control]}``,
        heaviest first, and ``dt``, when the model expects the next event (seconds); a kind
        that draws which controls move adds ``moves``, each control's chance of moving."""
        ...


@dataclass(frozen=True)
class Kind:
    """What a kind's module exposes as ``KIND``: its name, its spec reader and its builder."""

    name: str
    read_spec: Callable[[Any], Spec]
    build: Callable[[ModelFile], Model]


def kind_of(name: str) -> Kind:
    """The registered kind called ``name`` (``ModelFileError`` when there is none)."""
    kind: Kind = kind_module(name).KIND
    return kind


def build_model(file: ModelFile) -> Model:
    """The model of ``file``'s kind, built from its spec and weights."""
    return kind_of(file.spec.kind).build(file)


def load(path: str | Path) -> Model:
    """Read, verify and build the model in ``path`` (any problem is one ``ModelFileError``)."""
    return build_model(load_model(path))


def load_voice(path: str | Path, seed: int | None = None) -> Voice:
    """A voice on the model in ``path``, drawing from a generator seeded with ``seed``."""
    return load(path).voice(np.random.default_rng(seed))
