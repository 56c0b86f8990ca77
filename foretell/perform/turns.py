"""Who plays next: each mode's turn-taking as pure functions of where an instrument stands.

The turn driver (``foretell.perform.turn_driver``) asks these at each input, each change of mode or
pause, each silence timer and each played model event, and carries out the answer: no clock, no
socket, no model here, so every mode's rules are tested as plain data (``tests/perform``).

==================  =================================================================
moment              what the mode says
==================  =================================================================
a user input        condition the model on it (modes that listen); in call-and-response
                    the model yields the turn; then answer at once (filter), wait for
                    the performer's silence (call-and-response) or nothing
mode/pause change   battle starts playing; call-and-response waits for silence again
a silence timer     call-and-response takes the turn if the performer stayed silent
a played event      play on while the mode (and the turn) say so
==================  =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from foretell.modes import Mode

Next = Literal["answer", "wait_for_silence", "play", "wait_again"] | None


@dataclass(frozen=True)
class Stand:
    """Where an instrument stands, as far as taking turns goes."""

    mode: Mode
    running: bool
    paused: bool
    has_model: bool
    responding: bool  # call-and-response: the model has the turn
    heard_user: bool  # the performer has played at least once

    @property
    def live(self) -> bool:
        """The model may play: started, not paused, with a model."""
        return self.running and not self.paused and self.has_model


@dataclass(frozen=True)
class InputTurn:
    """What a user input leads to."""

    condition: bool  # feed the input to the model
    yield_turn: bool  # call-and-response: the performer is back, the model stops
    then: Next  # "answer" now, "wait_for_silence", or nothing


def after_input(stand: Stand, answer: bool) -> InputTurn:
    """A user input arrived (``answer``: the source wants it answered now, if the mode does)."""
    mode = stand.mode
    if not (stand.has_model and mode.condition_on_user):
        return InputTurn(False, False, None)
    then: Next = None
    if not stand.paused:
        if mode.answer_each_input and answer:
            then = "answer"
        elif mode.generate == "when_silent":
            then = "wait_for_silence"
    return InputTurn(True, stand.responding, then)


def after_change(stand: Stand) -> Next:
    """The mode or the pause changed (or the instrument started): "play" or "wait_for_silence"."""
    if not stand.live:
        return None
    if stand.mode.generate == "always":
        return "play"
    if stand.mode.generate == "when_silent" and stand.heard_user:
        return "wait_for_silence"
    return None


def after_silence(stand: Stand, silent_long_enough: bool) -> Next:
    """The silence timer fired: "play" (the model takes the turn), "wait_again" (the performer
    played since it was armed) or nothing."""
    waiting = stand.mode.generate == "when_silent" and not stand.responding and stand.heard_user
    if not (waiting and stand.live):
        return None
    return "play" if silent_long_enough else "wait_again"


def plays_on(stand: Stand) -> bool:
    """After a model event (played or stale): whether the model plays another."""
    generate = stand.mode.generate
    return stand.live and (generate == "always" or (generate == "when_silent" and stand.responding))
