"""Batch the model steps that coincide: inputs that reach instruments sharing a model in one loop
wake-up are stepped together, in one ``Model.step`` per model (``foretell.model.protocol``).

What is batched, exactly: the ``/interface`` inputs that the ensemble's OSC sockets deliver while
the loop handles one wake-up (every socket the poll found readable, every datagram waiting on
each, a socket of one instrument or one shared by several). The model decides how it steps them
(the dense MDRNN and the moves model: one matrix product per layer from 4 voices on, below that
one by one, because stacking the states costs more than the one product saves: ``foretell bench
ensemble`` and ``foretell bench predict --voices`` measure the step both ways).
``BatchingOscSource`` delivers them to their instruments with ``answer=False``; each instrument
checks, logs and feeds its input, and its ``BatchedVoice`` only records the step
(``StepBatcher.defer``). On the next loop turn (``clock.call_at(now)``) the batcher runs every
recorded step, grouped by shared model, one ``Model.step`` per group, and then each instrument
whose newest input wants an answer answers it (``Instrument.answer_latest``). The instrument
plays a ``BatchedVoice`` as it would any voice: it never knows that it is batched.

What is not batched: scheduled model events (call-response, battle) and cross-listened inputs are
stepped when they happen, one by one, because the next event is sampled at once from the step's
result. A deferred step is also run early (alone, or with whatever else is pending) whenever its
voice is read: ``sample``, ``predict``, ``get_state``, ``set_state``, ``reset``, or a second step
for the same voice. The price of batching is that answer's wait for the next loop turn (tens of
µs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from foretell.clock import Clock, Timer
from foretell.commands import Command
from foretell.io.base import Inbox
from foretell.io.osc import OscPort, OscRoutes, OscSource
from foretell.model.constraints import Constraints
from foretell.model.protocol import Model, Voice
from foretell.perform.engine import EngineInbox
from foretell.perform.instrument import Instrument


class StepBatcher:
    """Deferred steps of ``BatchedVoice``s and the answers that wait on them (one per engine)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.steps = self.batches = self.largest = 0
        self._pending: dict[int, tuple[Voice, np.ndarray]] = {}
        self._answers: dict[str, Instrument] = {}
        self._timer: Timer | None = None

    def defer(self, voice: Voice, event: np.ndarray) -> None:
        if id(voice) in self._pending:
            self.flush()  # a voice's steps run in order
        self._pending[id(voice)] = (voice, np.array(event, dtype=np.float64))

    def answer_later(self, instrument: Instrument) -> None:
        """Have ``instrument`` answer its newest input once the pending steps are done."""
        self._answers[instrument.name] = instrument
        if self._timer is None:
            self._timer = self.clock.call_at(self.clock.now(), self.finish)

    def flush(self) -> None:
        """Run every pending step, one ``Model.step`` per group of voices sharing a model."""
        pending, self._pending = self._pending, {}
        groups: dict[int, tuple[Model, list[Voice], list[np.ndarray]]] = {}
        for voice, event in pending.values():
            _, voices, events = groups.setdefault(id(voice.model), (voice.model, [], []))
            voices.append(voice)
            events.append(event)
        for model, voices, events in groups.values():
            model.step(voices, events)
            self.steps += len(voices)
            self.batches += 1
            self.largest = max(self.largest, len(voices))

    def finish(self) -> None:
        """The wake-up's batch: step everything pending, then answer."""
        self._timer = None
        self.flush()
        answers, self._answers = self._answers, {}
        for instrument in answers.values():
            instrument.answer_latest()

    def stats(self) -> dict[str, float]:
        mean = self.steps / self.batches if self.batches else 0.0
        return {"steps": self.steps, "batches": self.batches, "mean": mean, "largest": self.largest}


class BatchedVoice:
    """A ``Voice`` whose ``observe`` is deferred to ``batcher`` (everything else is ``voice``'s).

    ``observe`` returns the voice's prediction buffer at once; the batch fills it in place, which
    is always before anything reads it (every reader flushes first).
    """

    def __init__(self, voice: Voice, batcher: StepBatcher) -> None:
        self.voice = voice
        self.batcher = batcher

    @property
    def model(self) -> Model:
        return self.voice.model

    @property
    def rng(self) -> np.random.Generator:
        return self.voice.rng

    @property
    def prediction(self) -> np.ndarray:
        return self.voice.prediction

    def observe(self, event: np.ndarray) -> np.ndarray:
        self.batcher.defer(self.voice, event)
        return self.voice.prediction

    def sample(
        self,
        prediction: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        self.batcher.flush()
        return self.voice.sample(prediction, pi_temp, sigma_temp, constraints, activity_temp)

    def predict(
        self,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
        activity_temp: float = 1.0,
    ) -> np.ndarray:
        self.batcher.flush()
        return self.voice.predict(pi_temp, sigma_temp, constraints, activity_temp)

    def reset(self) -> None:
        self.batcher.flush()
        self.voice.reset()

    def get_state(self) -> object:
        self.batcher.flush()
        return self.voice.get_state()

    def set_state(self, state: object) -> None:
        self.batcher.flush()
        self.voice.set_state(state)


class _DeferringInbox:
    """Passes inputs on with ``answer=False`` and asks the batcher for the answer instead."""

    def __init__(self, inbox: Inbox, instrument: Instrument, batcher: StepBatcher) -> None:
        self.inbox = inbox
        self.instrument = instrument
        self.batcher = batcher

    def on_input(
        self, values: Sequence[object], *, answer: bool = True, guest: bool = False
    ) -> None:
        self.inbox.on_input(values, answer=False, guest=guest)
        if answer and isinstance(self.instrument.runtime, BatchedVoice):
            self.batcher.answer_later(self.instrument)
        elif answer:  # not (or no longer) batched: answer now, as a plain source would
            self.instrument.answer_latest()

    def on_command(self, command: Command) -> None:
        self.inbox.on_command(command)

    def on_reject(self, kind: str, detail: str) -> None:
        self.inbox.on_reject(kind, detail)


class BatchingOscSource(OscSource):
    """An ``OscSource`` whose inputs are answered after the wake-up's batched steps."""

    def __init__(
        self,
        host: str,
        port: int,
        routes: OscRoutes | None,
        batcher: StepBatcher,
        shared: OscPort | None = None,
    ) -> None:
        super().__init__(host, port, routes, shared)
        self.batcher = batcher

    @property
    def origin(self) -> str:
        return "osc"

    def start(self, inbox: Inbox) -> None:
        target: Any = inbox
        if isinstance(inbox, EngineInbox):
            target = _DeferringInbox(inbox, inbox.instrument, self.batcher)
        elif isinstance(inbox, Instrument):
            target = _DeferringInbox(inbox, inbox, self.batcher)
        super().start(target)
