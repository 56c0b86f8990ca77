"""One instrument: a performer's input stream, a model's state and the interaction between them.

An ``Instrument`` is the engine's unit of state (several can live in one engine): its settings
(mode, temperatures, timescale, threshold, thru), its ``runtime`` (a ``Voice`` on a model of any
kind, ``foretell.model.protocol``: the model may be shared, the state is its own), its log, its
outputs, and its counters. It is the ``Inbox`` its sources call.
Everything runs on the engine's loop, so commands are applied between events, never racing them.

Data flows one way: input -> check -> log -> model (condition) -> sample -> scheduler -> sinks.
The only path back is the scheduler reporting what was played, which is fed to the model when
the model plays on its own.

Time (IMPSY 1.0's rules, its conformance vectors #101 and #103): the model is fed each user
input with dt = time since the previous event it was fed (its own or the user's; for the first,
since the instrument started or was reset), in seconds. A generated event's dt is raised to at
least ``MIN_PLAYED_DT`` (1 ms), it is scheduled at ``due = previous due + dt * timescale``
(timescale stretches playback only) and fed back with that dt, unscaled. Below timescale 1 the
played gap is kept at 1 ms or more too (so no timescale floods a synth; IMPSY's would be
``1 ms * timescale``), and the dt fed back is then that gap / timescale.

What is dropped, by design, so work never piles up:
- a filter-mode answer to an input that a newer input already follows (``answer=False`` from the
  source): that input still conditions the model, only its stale answer is skipped;
- a scheduled model event that falls due more than ``late_limit`` late: not sent, not fed back;
  the chain re-anchors at the present (counted as ``stale``);
- a pending model event when the user takes over in call-response, or on mode change, pause or
  reset (counted as ``cancelled``).
Inputs themselves are never dropped: every valid one is logged and (if the mode says so) fed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from foretell import commands as control
from foretell.clock import Clock, Timer
from foretell.data.log import LogWriter, take_file_name
from foretell.errors import ControlError, LogFormatError
from foretell.events import Event, InputRejected, OutOfRange, check_values, controls_of
from foretell.io.base import Sink
from foretell.limits import MAX_MODEL_DT, MIN_PLAYED_DT
from foretell.model.constraints import Constraints
from foretell.model.protocol import Voice
from foretell.modes import Mode, get_mode
from foretell.perform import steering, turns
from foretell.perform.rejections import Rejections
from foretell.perform.scheduler import LatenessStats, Scheduler, Ticket
from foretell.settings import BY_VERB

log = logging.getLogger(__name__)
Listener = Callable[[str, Event], None]
ModelLoader = Callable[[Path, Callable[[Voice | BaseException], None]], None]
PRIME_DT = 0.1  # seconds: the interval of the neutral event that primes a fresh model


@dataclass(frozen=True)
class Settings:
    """An instrument's live-adjustable settings (replaced whole by each command)."""

    mode: str = "callresponse"
    paused: bool = False
    pi_temp: float = 1.0
    sigma_temp: float = 1.0
    timescale: float = 1.0
    threshold: float = 0.1
    input_thru: bool = False
    out_of_range: OutOfRange = "clip"
    log_predictions: bool = True
    constraints: Constraints = field(default_factory=Constraints)  # dt_range as played
    condition_on: tuple[int, ...] = ()  # filter: hold these controls at the performer's values


@dataclass(frozen=True)
class InstrumentSnapshot:
    """A copy of an instrument's state for displays (cheap; take it at any rate you like)."""

    name: str
    t: float
    settings: Settings
    responding: bool
    model: str | None
    dimension: int | None
    inputs: int
    answers: int
    generated: int
    stale: int
    cancelled: int
    rejected: dict[str, int]
    timing_ms: dict[str, float | None]  # |sent - due| of this instrument's own scheduled events
    log_path: str | None
    log_rows: int
    expected: tuple[float, ...] | None  # the model's prediction of the next event
    learning: dict[str, Any] | None = None  # foretell.learn.coordinator.Learner.status()
    not_logged: int = 0  # rows the log's disk refused (see foretell.data.log)


def load_now(path: Path, done: Callable[[Voice | BaseException], None]) -> None:
    """A ``ModelLoader`` that loads on the calling thread (tests, headless runs)."""
    from foretell.model.protocol import load_voice

    try:
        done(load_voice(path))
    except Exception as exc:
        done(exc)


class Instrument:
    """One performer and one model (see the module docstring). Call everything on the loop."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        clock: Clock,
        scheduler: Scheduler,
        sinks: Sequence[Sink],
        runtime: Voice | None = None,
        log_writer: LogWriter | None = None,
        dimension: int | None = None,
        loader: ModelLoader = load_now,
        listeners: Sequence[Listener] = (),
        model_name: str | None = None,
        models_dir: Path | None = None,
    ) -> None:
        if runtime is not None:
            if dimension not in (None, runtime.model.dimension):
                raise ValueError(f"dimension {dimension} differs from the model's")
            dimension = runtime.model.dimension
        elif get_mode(settings.mode).needs_model:
            settings = replace(settings, mode="useronly")
        self.name = name
        self.settings = replace(settings, mode=get_mode(settings.mode).name)
        self.clock = clock
        self.scheduler = scheduler
        self.sinks = list(sinks)
        self.runtime = runtime
        self.model_name = model_name
        self.log = log_writer
        self.dimension = dimension
        self.loader = loader
        self.models_dir = models_dir
        self.listeners = listeners
        self.rejections = Rejections(name, self._note_reject)
        self.inputs = self.answers = self.generated = self.cancelled = self.stale = 0
        self.lateness = LatenessStats()  # its own events' share of the run's scheduler figures
        self._raw: np.ndarray | None = None
        self._last_fed: float | None = None
        self._origin: float | None = None  # when it started (or was reset): the first input's dt
        self._last_user: float | None = None
        self._responding = False
        self._pending: Ticket | None = None
        self._silence: Timer | None = None
        self._running = False
        self._steered: tuple[Constraints, float, Constraints] | None = None
        self._last_values: tuple[float, ...] = ()  # the performer's newest input
        self._loading: Path | None = None  # the model file being read now
        self._load_next: Path | None = None  # the newest one asked for meanwhile
        self._load_waiters: list[tuple[Path, concurrent.futures.Future[str | None]]] = []
        self._asked: concurrent.futures.Future[str | None] | None = None  # this command's load

    @property
    def mode(self) -> Mode:
        return get_mode(self.settings.mode)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the log (if the dimension is known) and start playing if the mode says so."""
        self._running = True
        self._origin = self.clock.now()
        if self.log is not None and self.dimension is not None and not self.log.is_open:
            path = self.log.open(self.dimension)
            log.debug("%s: logging to %s", self.name, path)
        self._resume()

    def stop(self) -> None:
        self._running = False
        self._halt()
        if self.log is not None:
            self.log.note("summary", **self._counters(), log=self.log.summary())
            self.log.close()

    # -- Inbox ----------------------------------------------------------------------------------

    def on_input(
        self,
        values: Sequence[object],
        *,
        answer: bool = True,
        origin: str = "",
        guest: bool = False,
    ) -> None:
        """A user input: check, log, thru, condition the model, answer or yield (per mode).

        ``origin`` names the kind of source it came through (for displays; see ``Event``),
        ``guest`` that a host other than the performer's sent it (logged as such, not learned).
        Whatever goes wrong inside costs this input only: it is counted (``internal_error``),
        told once, and the performance goes on (``on_command`` likewise).
        """
        try:
            self._on_input(values, answer, origin, guest)
        except Exception as exc:
            self._failed("input", exc)

    def on_command(self, command: control.Command) -> control.Outcome:
        """Apply a live-control command now (between events); what became of it (a ``load``'s
        outcome also says when the model plays)."""
        with self.rejections.recording() as refused:
            try:
                self._on_command(command)
            except Exception as exc:
                self._failed(type(command).__name__, exc)
        if refused:
            return control.Outcome(refused=refused[0])
        played, self._asked = self._asked, None
        return control.Outcome(played=played if isinstance(command, control.LoadModel) else None)

    def _failed(self, what: str, exc: Exception) -> None:
        log.debug("%s: %s failed", self.name, what, exc_info=True)
        self.rejections.add("internal_error", f"{what} failed: {exc!r}"[:200])

    def _on_input(self, values: Sequence[object], answer: bool, origin: str, guest: bool) -> None:
        t = self.clock.now()
        controls = controls_of(self.dimension)
        try:
            checked, clipped = check_values(values, controls, self.settings.out_of_range)
        except InputRejected as rejected:
            self.rejections.add(rejected.kind, str(rejected))
            return
        if clipped:
            self.rejections.add("clipped", f"values {list(values)!r} clipped to [0, 1]")
        if self.dimension is None:
            self._adopt_dimension(len(checked) + 1)
        dt = 0.0 if self._last_user is None else t - self._last_user
        event = Event(t, dt, checked, "user", origin, guest)
        self._last_user, self._last_values = t, checked
        self.inputs += 1
        if self.log is not None:
            self.log.write(event)
        if self.settings.input_thru:
            self.scheduler.play_now(event, self.sinks)
        self._tell(event)
        turn = turns.after_input(self._stand(), answer)
        if not turn.condition:
            return
        if turn.yield_turn:  # call-response: the user is back; stop and listen
            self._halt()
        self._feed(t, checked)
        if turn.then == "answer":
            self._answer(t)
        elif turn.then == "wait_for_silence":
            self._arm_silence()

    def note_command(self, command: control.Command) -> None:
        """Write ``command`` to the log's notes (every command, whoever carries it out)."""
        if self.log is not None:
            self.log.note(
                "command", t=self.clock.now(), command=type(command).__name__, args=vars(command)
            )

    def _on_command(self, command: control.Command) -> None:
        self.note_command(command)
        match command:
            case control.SetMode(mode=name):
                self._set_mode(name)
            case control.SetPause(paused=paused):
                self._set_paused(not self.settings.paused if paused is None else paused)
            case control.Reset():
                self._reset()
            case control.SetSetting(name=name, value=value):
                changed: dict[str, Any] = {BY_VERB[name].field: value}
                self.settings = replace(self.settings, **changed)
            case (
                control.SetRange()
                | control.Hold()
                | control.Release()
                | control.SetControlTemp()
                | control.SetDtRange()
                | control.Unconstrain()
            ):
                self._steer(command)
            case control.LoadModel(name=name):
                try:
                    self._load(control.model_path(self.models_dir, name))
                except ControlError as exc:
                    self.rejections.add("bad_command", str(exc))
            case control.NewTake(name=name):
                self._new_take(name)
            case control.Learn() | control.Rollback():  # a learner (an engine service) takes them
                self.rejections.add("no_learner", "learning is off (start with --learn)")

    def on_reject(self, kind: str, detail: str) -> None:
        self.rejections.add(kind, detail)

    # -- commands -------------------------------------------------------------------------------

    def _set_mode(self, name: str) -> None:
        mode = get_mode(name)
        if mode.needs_model and self.runtime is None:
            self.rejections.add("no_model", f"mode {mode.name} needs a model; none is loaded")
            return
        self._halt()
        self.settings = replace(self.settings, mode=mode.name)
        self._resume()

    def _set_paused(self, paused: bool) -> None:
        self._halt()
        self.settings = replace(self.settings, paused=paused)
        self._resume()

    def _new_take(self, name: str) -> None:
        """Close the log and go on in the take ``name`` (refused, logging on, if it cannot be)."""
        if self.log is None or self.dimension is None:
            why = "logging is off" if self.log is None else "the dimension is not known yet"
            self.rejections.add("bad_command", f"take {name}: {why}")
            return
        if (self.log.directory / take_file_name(name, self.dimension)).exists():
            self.rejections.add("bad_command", f"take {name}: a take of that name exists already")
            return
        self.log.close(keep_empty=False)  # a take with nothing played leaves no file
        try:
            path = self.log.open(self.dimension, take=name)
        except LogFormatError as exc:
            self.rejections.add("bad_command", f"take {name}: {exc}")
            with contextlib.suppress(LogFormatError):
                self.log.open(self.dimension)  # go on logging, named by the time as before
            return
        log.info("%s: take %s in %s", self.name, name, path)

    def _reset(self) -> None:
        self._halt()
        if self.runtime is not None:
            self.runtime.reset()
        self._raw = None
        self._last_fed = None
        self._origin = self.clock.now()
        self._resume()

    def swap_runtime(self, runtime: Voice, name: str | None = None) -> bool:
        """Play ``runtime`` from now on, carrying the state (and the prediction still to be
        drawn) over where the new model takes them."""
        model = runtime.model
        if self.dimension is not None and model.dimension != self.dimension:
            self.rejections.add(
                "bad_model", f"model has dimension {model.dimension}, not {self.dimension}"
            )
            return False
        old = self.runtime
        if old is not None and old.model.carries_state(model):
            runtime.set_state(old.get_state())
        if old is not None and not (
            old.model.carries_state(model) and model.reads_prediction(old.model)
        ):
            self._raw = None
        self.runtime = runtime
        self.model_name = name or self.model_name
        if self.dimension is None:
            self._adopt_dimension(model.dimension)
        return True

    def _load(self, path: Path) -> None:
        """Read ``path`` off the loop; while one load is in flight the newest request waits."""
        self._asked = concurrent.futures.Future()
        self._load_waiters.append((path, self._asked))
        self._start_load(path)

    def _start_load(self, path: Path) -> None:
        if self._loading is not None:
            self._load_next = path
            return
        self._loading = path
        self.loader(path, lambda result: self._loaded(path, result))

    def _loaded(self, path: Path, result: Voice | BaseException) -> None:
        self._loading = None
        if self._load_next is not None:  # a newer request came in: that one wins
            newer, self._load_next = self._load_next, None
            self._tell_waiters(lambda waited: waited != newer, f"replaced by {newer.name}")
            self._start_load(newer)
            return
        why: str | None = None
        if isinstance(result, BaseException):
            self.rejections.add("bad_model", f"cannot load {path}: {result}")
            why = f"cannot load {path.name}: {str(result).replace(str(path), path.name)}"
        elif self.swap_runtime(result, str(path)):
            log.info("%s: now playing with model %s", self.name, path)
            if self.log is not None:
                self.log.note("model", t=self.clock.now(), path=str(path), carried=True)
        else:
            why = self.rejections.latest["bad_model"]
        self._tell_waiters(lambda waited: True, why)

    def _tell_waiters(self, which: Callable[[Path], bool], why: str | None) -> None:
        """Resolve the ``load`` outcomes of the paths ``which`` picks (None: it plays)."""
        kept = []
        for path, waiter in self._load_waiters:
            if not which(path):
                kept.append((path, waiter))
                continue
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                waiter.set_result(why)
        self._load_waiters = kept

    # -- the model ------------------------------------------------------------------------------

    def _adopt_dimension(self, dimension: int) -> None:
        self.dimension = dimension
        if self.log is not None and self._running and not self.log.is_open:
            self.log.open(dimension)

    def _feed(self, t: float, values: tuple[float, ...], dt: float | None = None) -> None:
        """Condition the model on an event at ``t`` (dt defaults to the time since the last one)."""
        assert self.runtime is not None
        if dt is None:
            since = self._last_fed if self._last_fed is not None else self._origin
            dt = 0.0 if since is None else max(t - since, 0.0)
        self._raw = self.runtime.observe(np.array([dt, *values]))
        self._last_fed = t

    def _prime(self) -> None:
        assert self.dimension is not None
        self._feed(self.clock.now(), (0.5,) * controls_of(self.dimension), dt=PRIME_DT)

    def _steer(self, command: steering.SteeringCommand) -> None:
        controls = controls_of(self.dimension)
        try:
            constraints = steering.apply(self.settings.constraints, command, controls)
        except ControlError as exc:
            self.rejections.add("bad_command", str(exc))
            return
        self.settings = replace(self.settings, constraints=constraints)
        if self._pending is not None and self._last_fed is not None:  # draw it again, steered
            self.scheduler.cancel(self._pending)
            self._schedule_next(self._last_fed, earliest=self.clock.now())

    def _model_constraints(self, holds: dict[int, float] | None = None) -> Constraints:
        """The constraints in the model's own time (kept while neither they nor timescale
        change, so the runtime keeps its plan for them)."""
        s = self.settings
        key = (s.constraints, s.timescale)
        if self._steered is None or self._steered[0] is not key[0] or self._steered[1] != key[1]:
            self._steered = (s.constraints, s.timescale, steering.for_model(*key))
        constraints = self._steered[2]
        return constraints.with_holds(holds) if holds else constraints

    def _sample(self, holds: dict[int, float] | None = None) -> tuple[float, tuple[float, ...]]:
        assert self.runtime is not None and self._raw is not None
        s = self.settings
        x = self.runtime.sample(self._raw, s.pi_temp, s.sigma_temp, self._model_constraints(holds))
        return min(float(x[0]), MAX_MODEL_DT), tuple(min(max(float(v), 0.0), 1.0) for v in x[1:])

    def _answer(self, t: float) -> None:
        held = self._last_values
        on = self.settings.condition_on
        holds = {i: held[i] for i in on if i < len(held)} if on and held else None
        dt, values = self._sample(holds)
        event = Event(t, dt, values, "model")
        sent = self.scheduler.play_now(event, self.sinks)
        self.answers += 1
        if self.log is not None and self.settings.log_predictions:
            self.log.write(event, sent)
        self._tell(event)

    def answer_latest(self) -> None:
        """Answer the newest user input now, if the mode answers each input.

        For a source that delivers a batch with ``answer=False`` and answers once the batch's
        model steps are done (``foretell.perform.batching``).
        """
        mode = self.mode
        if self.runtime is None or self.settings.paused or self._last_user is None:
            return
        if mode.condition_on_user and mode.answer_each_input and self._raw is not None:
            self._answer(self._last_user)

    # -- generating on its own ------------------------------------------------------------------

    def _stand(self) -> turns.Stand:
        """Where this instrument stands, for the turn-taking rules (``foretell.perform.turns``)."""
        return turns.Stand(
            mode=self.mode,
            running=self._running,
            paused=self.settings.paused,
            has_model=self.runtime is not None,
            responding=self._responding,
            heard_user=self._last_user is not None,
        )

    def _generating(self) -> bool:
        return turns.plays_on(self._stand())

    def _resume(self) -> None:
        """Start whatever the mode and pause state call for (after a change of either)."""
        match turns.after_change(self._stand()):
            case "play":
                self._start_chain()
            case "wait_for_silence":
                self._arm_silence()

    def _halt(self) -> None:
        """Withdraw the pending model event and the silence timer."""
        if self._pending is not None:
            self.scheduler.cancel(self._pending)
            self._pending = None
            self.cancelled += 1
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        self._responding = False

    def _arm_silence(self) -> None:
        if self._silence is None and self._last_user is not None:
            when = self._last_user + self.settings.threshold
            self._silence = self.clock.call_at(when, self._on_silence)

    def _on_silence(self) -> None:
        self._silence = None
        last = self._last_user
        silent = last is not None and self.clock.now() >= last + self.settings.threshold
        match turns.after_silence(self._stand(), silent):
            case "wait_again":  # the user played since this timer was armed
                self._arm_silence()
            case "play":
                self._responding = True
                self._start_chain()

    def _start_chain(self) -> None:
        if self._raw is None or self._last_fed is None:
            self._prime()
        assert self._last_fed is not None
        self._schedule_next(self._last_fed, earliest=self.clock.now())

    def _schedule_next(self, previous: float, earliest: float | None = None) -> None:
        dt, values = self._sample()
        dt = max(dt, MIN_PLAYED_DT)  # IMPSY's floor, in the model's time; and as played too
        due = previous + max(dt * self.settings.timescale, MIN_PLAYED_DT)  # (timescale < 1)
        if earliest is not None:
            due = max(due, earliest)
        event = Event(due, dt, values, "model")
        self._pending = self.scheduler.schedule(due, event, self.sinks, self._played, self._stale)

    def _played(self, event: Event, sent: float) -> None:
        self._pending = None
        self.generated += 1
        self.lateness.add(sent - event.t)  # event.t is the deadline it was scheduled for
        if self.log is not None:
            row = self.log.write(event, sent) if self.settings.log_predictions else 0
            self.log.note("timing", row=row, scheduled=event.t, sent=sent)
        self._tell(event)
        assert self._last_fed is not None
        self._feed(event.t, event.values, dt=(event.t - self._last_fed) / self.settings.timescale)
        if self._generating():
            self._schedule_next(event.t)

    def _stale(self, event: Event, now: float) -> None:
        self._pending = None
        self.stale += 1
        if self.log is not None:
            self.log.note("stale", scheduled=event.t, at=now)
        if self._generating():
            self._schedule_next(now)

    # -- reporting ------------------------------------------------------------------------------

    def _tell(self, event: Event) -> None:
        for listener in self.listeners:
            listener(self.name, event)

    def _note_reject(self, kind: str, detail: str) -> None:
        if self.log is not None:
            self.log.note("reject", t=self.clock.now(), reject=kind, detail=detail)

    def _counters(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "answers": self.answers,
            "generated": self.generated,
            "stale": self.stale,
            "cancelled": self.cancelled,
            "rejected": dict(self.rejections.counts),
        }

    def snapshot(self) -> InstrumentSnapshot:
        raw = self._raw
        return InstrumentSnapshot(
            name=self.name,
            t=self.clock.now(),
            settings=self.settings,
            responding=self._responding,
            model=self.model_name,
            dimension=self.dimension,
            inputs=self.inputs,
            answers=self.answers,
            generated=self.generated,
            stale=self.stale,
            cancelled=self.cancelled,
            rejected=dict(self.rejections.counts),
            timing_ms=self.lateness.percentiles_ms(),
            log_path=None if self.log is None or self.log.path is None else str(self.log.path),
            log_rows=0 if self.log is None else self.log.rows,
            expected=None if raw is None else tuple(float(v) for v in raw),
            learning=None,  # the engine adds its services' status (Engine.instrument_snapshot)
            not_logged=0 if self.log is None else self.log.not_logged,
        )
