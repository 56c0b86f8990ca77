"""One instrument: a performer's input stream, a model's state and the interaction between them.

An ``Instrument`` is the engine's unit of state (several can live in one engine) and the
``Inbox`` its sources call. It owns its settings (mode, temperatures, timescale, threshold, thru;
``foretell.perform.instrument_settings``) and composes the parts that do the work:

- ``InstrumentModel`` (``instrument_model.py``): its voice on a model of any kind
  (``foretell.model.protocol``: the model may be shared, the state is its own), the voice's
  latest prediction and the time it was last fed;
- ``HotLoader`` (``hot_load.py``): model files read off the loop, the newest request winning;
- ``TurnDriver`` (``turn_driver.py``): answers, the silence timer, the model's own chain of
  scheduled events, and what the model played (counted);
- ``TakeLog`` (``take_log.py``): its performance log and takes.

The instrument checks inputs and commands, hands them to its parts, tells its listeners (given at
construction: an engine's ``Listeners``) every event, and publishes what it knows as an
``InstrumentSnapshot``: displays and the studio read that, never the parts. Everything runs on
the engine's loop, so commands are applied between events, never racing them.

Data flows one way: input -> check -> log -> model (condition) -> sample -> scheduler -> sinks.
The only path back is the scheduler reporting what was played, which is fed to the model when
the model plays on its own.

What is dropped, by design, so work never piles up:
- a filter-mode answer to an input that a newer input already follows (``answer=False`` from the
  source): that input still conditions the model, only its stale answer is skipped;
- a scheduled model event that falls due more than ``late_limit`` late (``stale``) and a pending
  one withdrawn when the user takes over, or on mode change, pause or reset (``cancelled``): see
  ``foretell.perform.turn_driver``.
Inputs themselves are never dropped: every valid one is logged and (if the mode says so) fed.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from foretell import commands as control
from foretell.clock import Clock
from foretell.data.log import LogWriter
from foretell.errors import ControlError
from foretell.events import Event, InputRejected, check_values, controls_of, moved_controls
from foretell.io.base import Sink
from foretell.model.protocol import Voice
from foretell.modes import Mode, get_mode
from foretell.perform import steering
from foretell.perform.hot_load import HotLoader, ModelLoader, load_now
from foretell.perform.instrument_model import InstrumentModel
from foretell.perform.instrument_settings import Settings
from foretell.perform.listeners import Listener
from foretell.perform.rejections import Rejections
from foretell.perform.scheduler import Scheduler
from foretell.perform.take_log import TakeLog
from foretell.perform.turn_driver import TurnDriver
from foretell.settings import BY_VERB

__all__ = ["Instrument", "InstrumentSnapshot", "Listener", "ModelLoader", "Settings", "load_now"]

log = logging.getLogger(__name__)


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
    logging: bool = False  # the log is open: ``log_path`` is the file being written now


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
        self.model = InstrumentModel(runtime, dimension, model_name)
        if runtime is None and get_mode(settings.mode).needs_model:
            settings = replace(settings, mode="useronly")
        self.name = name
        self.settings = replace(settings, mode=get_mode(settings.mode).name)
        self.clock = clock
        self.scheduler = scheduler
        self.sinks = list(sinks)
        self.listeners = tuple(listeners)  # each hears every event (the engine's ``Listeners``)
        self.rejections = Rejections(name, self._note_reject)
        self.takes = TakeLog(name, log_writer)
        self.loading = HotLoader(loader, models_dir, self._install)
        self.turns = TurnDriver(
            clock, scheduler, self.sinks, self.model, self.takes, lambda: self.settings, self._tell
        )
        self._inputs = 0

    @property
    def mode(self) -> Mode:
        return get_mode(self.settings.mode)

    @property
    def runtime(self) -> Voice | None:
        """The voice it plays with (None: no model)."""
        return self.model.runtime

    @property
    def model_name(self) -> str | None:
        return self.model.name

    @property
    def dimension(self) -> int | None:
        return self.model.dimension

    @property
    def log(self) -> LogWriter | None:
        """Its log's writer (None: logging is off), for services that add notes to it."""
        return self.takes.writer

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the log (if the dimension is known) and start playing if the mode says so."""
        self.model.begin(self.clock.now())
        if self.dimension is not None:
            self.takes.open(self.dimension)
        self.turns.start()

    def stop(self) -> None:
        self.turns.stop()
        self.takes.close(self._counters())

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
        played = None
        with self.rejections.recording() as refused:
            try:
                played = self._on_command(command)
            except Exception as exc:
                self._failed(type(command).__name__, exc)
        if refused:
            return control.Outcome(refused=refused[0])
        return control.Outcome(played=played)

    def on_reject(self, kind: str, detail: str) -> None:
        self.rejections.add(kind, detail)

    def _failed(self, what: str, exc: Exception) -> None:
        log.debug("%s: %s failed", self.name, what, exc_info=True)
        self.rejections.add("internal_error", f"{what} failed: {exc!r}"[:200])

    def _on_input(self, values: Sequence[object], answer: bool, origin: str, guest: bool) -> None:
        t = self.clock.now()
        try:
            checked, clipped = check_values(
                values, controls_of(self.dimension), self.settings.out_of_range
            )
        except InputRejected as rejected:
            self.rejections.add(rejected.kind, str(rejected))
            return
        if clipped:
            self.rejections.add("clipped", f"values {list(values)!r} clipped to [0, 1]")
        if self.dimension is None:
            self._adopt_dimension(len(checked) + 1)
        moved = moved_controls(self.turns.last_values, checked)
        event = Event(t, self.turns.hear(t, checked), checked, "user", origin, guest, moved)
        self._inputs += 1
        self.takes.write(event)
        if self.settings.input_thru:
            self.scheduler.play_now(event, self.sinks)
        self._tell(event)
        self.turns.after_input(t, checked, answer)

    def answer_latest(self) -> None:
        """Answer the newest user input now, if the mode answers each input.

        For a source that delivers a batch with ``answer=False`` and answers once the batch's
        model steps are done (``foretell.perform.batching``).
        """
        self.turns.answer_latest()

    # -- commands -------------------------------------------------------------------------------

    def note_command(self, command: control.Command) -> None:
        """Write ``command`` to the log's notes (every command, whoever carries it out)."""
        self.takes.note(
            "command", t=self.clock.now(), command=type(command).__name__, args=vars(command)
        )

    def _on_command(self, command: control.Command) -> concurrent.futures.Future[str | None] | None:
        """Carry ``command`` out; a ``load``'s outcome (None for every other command)."""
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
                    return self.loading.load(name)
                except ControlError as exc:
                    self.rejections.add("bad_command", str(exc))
            case control.NewTake(name=name):
                self.takes.new_take(name, self.dimension, self._refuse)
            case control.Learn() | control.Rollback():  # a learner (an engine service) takes them
                self.rejections.add("no_learner", "learning is off (start with --learn)")
        return None

    def _refuse(self, why: str) -> None:
        self.rejections.add("bad_command", why)

    def _set_mode(self, name: str) -> None:
        mode = get_mode(name)
        if mode.needs_model and self.runtime is None:
            self.rejections.add("no_model", f"mode {mode.name} needs a model; none is loaded")
            return
        self.turns.halt()
        self.settings = replace(self.settings, mode=mode.name)
        self.turns.resume()

    def _set_paused(self, paused: bool) -> None:
        self.turns.halt()
        self.settings = replace(self.settings, paused=paused)
        self.turns.resume()

    def _reset(self) -> None:
        self.turns.halt()
        self.model.reset(self.clock.now())
        self.turns.resume()

    def _steer(self, command: steering.SteeringCommand) -> None:
        controls = controls_of(self.dimension)
        try:
            constraints = steering.apply(self.settings.constraints, command, controls)
        except ControlError as exc:
            self.rejections.add("bad_command", str(exc))
            return
        self.settings = replace(self.settings, constraints=constraints)
        self.turns.redraw()  # the pending event, drawn again under the new constraints

    # -- the model ------------------------------------------------------------------------------

    def swap_runtime(self, runtime: Voice, name: str | None = None) -> bool:
        """Play ``runtime`` from now on, carrying the state (and the prediction still to be
        drawn) over where the new model takes them; refused (``bad_model``) if its size differs."""
        known = self.dimension
        why = self.model.swap(runtime, name)
        if why is not None:
            self.rejections.add("bad_model", why)
            return False
        if known is None and self.dimension is not None:
            self._adopt_dimension(self.dimension)
        return True

    def _install(self, path: Path, result: Voice | BaseException) -> str | None:
        """Play the model read from ``path`` (a ``HotLoader``'s result); why not, if it does not."""
        if isinstance(result, BaseException):
            self.rejections.add("bad_model", f"cannot load {path}: {result}")
            return f"cannot load {path.name}: {str(result).replace(str(path), path.name)}"
        if not self.swap_runtime(result, str(path)):
            return self.rejections.latest["bad_model"]
        log.info("%s: now playing with model %s", self.name, path)
        self.takes.note("model", t=self.clock.now(), path=str(path), carried=True)
        return None

    def _adopt_dimension(self, dimension: int) -> None:
        """Its size is known now (the first input, or the first model): the log can open."""
        self.model.dimension = dimension
        if self.turns.running:
            self.takes.open(dimension)

    # -- reporting ------------------------------------------------------------------------------

    def tells(self, listener: Listener) -> bool:
        """Whether ``listener`` hears this instrument's events."""
        return any(own is listener for own in self.listeners)

    def _tell(self, event: Event) -> None:
        for listener in self.listeners:
            listener(self.name, event)

    def _note_reject(self, kind: str, detail: str) -> None:
        self.takes.note("reject", t=self.clock.now(), reject=kind, detail=detail)

    def _counters(self) -> dict[str, Any]:
        return {
            "inputs": self._inputs,
            **self.turns.counts(),
            "rejected": dict(self.rejections.counts),
        }

    def snapshot(self) -> InstrumentSnapshot:
        path = self.takes.path
        return InstrumentSnapshot(
            name=self.name,
            t=self.clock.now(),
            settings=self.settings,
            responding=self.turns.responding,
            model=self.model_name,
            dimension=self.dimension,
            **self._counters(),
            timing_ms=self.turns.lateness.percentiles_ms(),
            log_path=None if path is None else str(path),
            log_rows=self.takes.rows,
            expected=self.model.expected,
            learning=None,  # the engine adds its services' status (Engine.instrument_snapshot)
            not_logged=self.takes.not_logged,
            logging=self.takes.is_open,
        )
