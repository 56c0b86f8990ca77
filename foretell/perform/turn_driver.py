"""Whose turn it is, carried out: answers, the silence timer, and the model's own chain of events.

The rules are ``foretell.perform.turns`` (pure); this module keeps the state they read (started,
the model's turn, the performer's last input), the timers and the scheduler's pending ticket, and
counts what the model played. Everything runs on the engine's loop.

Time: a generated event's dt is raised to at least ``MIN_PLAYED_DT`` (1 ms), it is scheduled at
``due = previous due + dt * timescale`` (timescale stretches playback only) and fed back with that
dt, unscaled. Below timescale 1 the played gap is kept at 1 ms or more too (so no timescale floods
a synth; IMPSY's would be ``1 ms * timescale``), and the dt fed back is then that gap / timescale.

Dropped, by design (counted): a scheduled event that falls due more than the scheduler's
``late_limit`` late (``stale``: not sent, not fed back, the chain re-anchors at the present), and
a pending event withdrawn when the performer takes over, or on a change of mode, pause or a reset
(``cancelled``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from foretell.clock import Clock, Timer
from foretell.events import Event, moved_controls
from foretell.io.base import Sink
from foretell.limits import MIN_PLAYED_DT
from foretell.modes import get_mode
from foretell.perform import turns
from foretell.perform.instrument_model import InstrumentModel
from foretell.perform.instrument_settings import Settings
from foretell.perform.scheduler import LatenessStats, Scheduler, Ticket
from foretell.perform.take_log import TakeLog


class TurnDriver:
    """One instrument's turns (see the module docstring).

    ``settings`` gives the instrument's current settings (it owns them); ``tell`` hears every
    model event played.
    """

    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        sinks: Sequence[Sink],
        model: InstrumentModel,
        takes: TakeLog,
        settings: Callable[[], Settings],
        tell: Callable[[Event], None],
    ) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.sinks = sinks
        self.model = model
        self.takes = takes
        self.settings = settings
        self.tell = tell
        self.running = False
        self.responding = False  # call-and-response: the model has the turn
        self.last_user: float | None = None
        self.last_values: tuple[float, ...] = ()  # the performer's newest input
        self.answers = self.generated = self.stale = self.cancelled = 0
        self.lateness = LatenessStats()  # its own events' share of the run's scheduler figures
        self._pending: Ticket | None = None
        self._silence: Timer | None = None

    def start(self) -> None:
        self.running = True
        self.resume()

    def stop(self) -> None:
        self.running = False
        self.halt()

    def counts(self) -> dict[str, int]:
        return {
            "answers": self.answers,
            "generated": self.generated,
            "stale": self.stale,
            "cancelled": self.cancelled,
        }

    # -- the performer --------------------------------------------------------------------------

    def hear(self, t: float, values: tuple[float, ...]) -> float:
        """The performer played ``values`` at ``t``; the time since their previous input."""
        dt = 0.0 if self.last_user is None else t - self.last_user
        self.last_user, self.last_values = t, values
        return dt

    def after_input(self, t: float, values: tuple[float, ...], answer: bool) -> None:
        """Condition the model on the input heard at ``t``, then answer or yield (per mode)."""
        turn = turns.after_input(self._stand(), answer)
        if not turn.condition:
            return
        if turn.yield_turn:  # call-response: the user is back; stop and listen
            self.halt()
        self.model.feed(t, values)
        if turn.then == "answer":
            self._answer(t)
        elif turn.then == "wait_for_silence":
            self._arm_silence()

    def answer_latest(self) -> None:
        """Answer the newest user input now, if the mode answers each input (see
        ``Instrument.answer_latest``)."""
        settings = self.settings()
        mode = get_mode(settings.mode)
        if self.model.runtime is None or settings.paused or self.last_user is None:
            return
        if mode.condition_on_user and mode.answer_each_input and self.model.prediction is not None:
            self._answer(self.last_user)

    def _answer(self, t: float) -> None:
        settings = self.settings()
        held = self.last_values
        on = settings.condition_on
        holds = {i: held[i] for i in on if i < len(held)} if on and held else None
        dt, values = self.model.sample(settings, holds)
        event = Event(t, dt, values, "model", moved=moved_controls(self.model.fed_values, values))
        sent = self.scheduler.play_now(event, self.sinks)
        self.answers += 1
        if settings.log_predictions:
            self.takes.write(event, sent)
        self.tell(event)

    # -- changes --------------------------------------------------------------------------------

    def resume(self) -> None:
        """Start whatever the mode and pause state call for (after a change of either)."""
        match turns.after_change(self._stand()):
            case "play":
                self._start_chain()
            case "wait_for_silence":
                self._arm_silence()

    def halt(self) -> None:
        """Withdraw the pending model event and the silence timer."""
        if self._pending is not None:
            self.scheduler.cancel(self._pending)
            self._pending = None
            self.cancelled += 1
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        self.responding = False

    def redraw(self) -> None:
        """Draw the pending model event again (the constraints changed)."""
        if self._pending is not None and self.model.last_fed is not None:
            self.scheduler.cancel(self._pending)
            self._schedule_next(self.model.last_fed, earliest=self.clock.now())

    # -- generating on its own ------------------------------------------------------------------

    def _stand(self) -> turns.Stand:
        """Where the instrument stands, for the turn-taking rules (``foretell.perform.turns``)."""
        settings = self.settings()
        return turns.Stand(
            mode=get_mode(settings.mode),
            running=self.running,
            paused=settings.paused,
            has_model=self.model.runtime is not None,
            responding=self.responding,
            heard_user=self.last_user is not None,
        )

    def _generating(self) -> bool:
        return turns.plays_on(self._stand())

    def _arm_silence(self) -> None:
        if self._silence is None and self.last_user is not None:
            when = self.last_user + self.settings().threshold
            self._silence = self.clock.call_at(when, self._on_silence)

    def _on_silence(self) -> None:
        self._silence = None
        last = self.last_user
        silent = last is not None and self.clock.now() >= last + self.settings().threshold
        match turns.after_silence(self._stand(), silent):
            case "wait_again":  # the user played since this timer was armed
                self._arm_silence()
            case "play":
                self.responding = True
                self._start_chain()

    def _start_chain(self) -> None:
        if self.model.prediction is None or self.model.last_fed is None:
            self.model.prime(self.clock.now())
        assert self.model.last_fed is not None
        self._schedule_next(self.model.last_fed, earliest=self.clock.now())

    def _schedule_next(self, previous: float, earliest: float | None = None) -> None:
        settings = self.settings()
        dt, values = self.model.sample(settings)
        dt = max(dt, MIN_PLAYED_DT)  # IMPSY's floor, in the model's time; and as played too
        due = previous + max(dt * settings.timescale, MIN_PLAYED_DT)  # (timescale < 1)
        if earliest is not None:
            due = max(due, earliest)
        event = Event(due, dt, values, "model", moved=moved_controls(self.model.fed_values, values))
        self._pending = self.scheduler.schedule(due, event, self.sinks, self._played, self._stale)

    def _played(self, event: Event, sent: float) -> None:
        self._pending = None
        self.generated += 1
        self.lateness.add(sent - event.t)  # event.t is the deadline it was scheduled for
        row = self.takes.write(event, sent) if self.settings().log_predictions else 0
        self.takes.note("timing", row=row, scheduled=event.t, sent=sent)
        self.tell(event)  # (a listener may change the settings)
        last_fed = self.model.last_fed
        assert last_fed is not None
        dt = (event.t - last_fed) / self.settings().timescale
        self.model.feed(event.t, event.values, dt=dt)
        if self._generating():
            self._schedule_next(event.t)

    def _stale(self, event: Event, now: float) -> None:
        self._pending = None
        self.stale += 1
        self.takes.note("stale", scheduled=event.t, at=now)
        if self._generating():
            self._schedule_next(now)
