"""Batch the model steps that coincide: inputs that reach instruments sharing a model in one loop
wake-up are stepped in one matrix product per layer (``foretell.model.batched``).

What is batched, exactly: the ``/interface`` inputs that the ensemble's OSC sockets deliver while
the loop handles one wake-up (every socket the poll found readable, every datagram waiting on
each, a socket of one instrument or one shared by several), in groups of at least ``MIN_GROUP``
(4; below that, stacking the states costs more than the one product saves: ``foretell bench
ensemble`` measures the step both ways).
``BatchingOscSource`` delivers them to their instruments with ``answer=False``; each instrument
checks, logs and feeds its input, and its ``BatchedRuntime`` only records the step
(``StepBatcher.defer``). On the next loop turn (``clock.call_at(now)``) the batcher runs every
recorded step, grouped by shared weights, one ``predict_batch`` per group, and then each
instrument whose newest input wants an answer answers it (``Instrument.answer_latest``).

What is not batched: scheduled model events (call-response, battle) and cross-listened inputs are
stepped when they happen, one by one, because the next event is sampled at once from the step's
result. A deferred step is also run early (alone, or with whatever else is pending) whenever its
runtime is read: ``sample``, ``get_state``, ``set_state``, ``reset``, or a second step for the
same runtime. The price of batching is that answer's wait for the next loop turn (tens of µs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from foretell.clock import Clock, Timer
from foretell.commands import Command
from foretell.io.base import Inbox
from foretell.io.osc import OscPort, OscRoutes, OscSource
from foretell.model.batched import predict_batch
from foretell.model.constraints import Constraints
from foretell.model.fileformat import ModelFile
from foretell.model.runtime import LSTMState, Runtime
from foretell.perform.engine import EngineInbox
from foretell.perform.instrument import Instrument

MIN_GROUP = 4  # fewer steps than this run one by one: the stacking costs more than it saves


class StepBatcher:
    """Deferred steps of ``BatchedRuntime``s and the answers that wait on them (one per engine)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.steps = self.batches = self.largest = 0
        self._pending: dict[int, tuple[BatchedRuntime, np.ndarray]] = {}
        self._answers: dict[str, Instrument] = {}
        self._timer: Timer | None = None

    def defer(self, runtime: BatchedRuntime, event: np.ndarray) -> None:
        if id(runtime) in self._pending:
            self.flush()  # a runtime's steps run in order
        self._pending[id(runtime)] = (runtime, np.array(event, dtype=np.float64))

    def answer_later(self, instrument: Instrument) -> None:
        """Have ``instrument`` answer its newest input once the pending steps are done."""
        self._answers[instrument.name] = instrument
        if self._timer is None:
            self._timer = self.clock.call_at(self.clock.now(), self.finish)

    def flush(self) -> None:
        """Run every pending step, one ``predict_batch`` per group of shared weights."""
        pending, self._pending = self._pending, {}
        groups: dict[int, list[tuple[BatchedRuntime, np.ndarray]]] = {}
        for runtime, event in pending.values():
            groups.setdefault(id(runtime._fused), []).append((runtime, event))
        for group in groups.values():
            if len(group) < MIN_GROUP:
                for runtime, event in group:
                    Runtime.predict(runtime, event)
            else:
                predict_batch([r for r, _ in group], [e for _, e in group])
            self.steps += len(group)
            self.batches += 1
            self.largest = max(self.largest, len(group))

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


class BatchedRuntime(Runtime):
    """A ``Runtime`` whose ``predict`` is deferred to ``batcher``.

    ``predict`` returns the runtime's parameter buffer at once; it is filled when the batch runs,
    which is always before anything reads it (every reader flushes first).
    """

    def __init__(
        self, model: ModelFile, rng: np.random.Generator | None, batcher: StepBatcher
    ) -> None:
        super().__init__(model, rng)
        self.batcher = batcher

    def predict(self, event: np.ndarray) -> np.ndarray:
        self.batcher.defer(self, event)
        return self._raw

    def sample(
        self,
        raw: np.ndarray,
        pi_temp: float = 1.0,
        sigma_temp: float = 1.0,
        constraints: Constraints | None = None,
    ) -> np.ndarray:
        self.batcher.flush()
        return super().sample(raw, pi_temp, sigma_temp, constraints)

    def reset(self) -> None:
        self.batcher.flush()
        super().reset()

    def get_state(self) -> LSTMState:
        self.batcher.flush()
        return super().get_state()

    def set_state(self, state: LSTMState) -> None:
        self.batcher.flush()
        super().set_state(state)


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
        if answer and isinstance(self.instrument.runtime, BatchedRuntime):
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
