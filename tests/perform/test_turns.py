"""Each mode's turn-taking as plain data: no clock, no socket, no model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from foretell.modes import get_mode
from foretell.perform.turns import (
    InputTurn,
    Stand,
    after_change,
    after_input,
    after_silence,
    plays_on,
)


def stand(mode: str, **changes: bool) -> Stand:
    base = Stand(get_mode(mode), running=True, paused=False, has_model=True, responding=False,
                 heard_user=True)  # fmt: skip
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("filter", InputTurn(True, False, "answer")),
        ("polyphony", InputTurn(True, False, "answer")),
        ("callresponse", InputTurn(True, False, "wait_for_silence")),
        ("listen", InputTurn(True, False, None)),
        ("battle", InputTurn(False, False, None)),
        ("useronly", InputTurn(False, False, None)),
    ],
)
def test_what_a_user_input_leads_to_in_each_mode(mode: str, expected: InputTurn) -> None:
    assert after_input(stand(mode), answer=True) == expected


def test_the_performer_coming_back_takes_the_turn_from_the_model() -> None:
    assert after_input(stand("callresponse", responding=True), True) == InputTurn(
        True, True, "wait_for_silence"
    )


def test_paused_still_conditions_but_never_answers() -> None:
    assert after_input(stand("filter", paused=True), True) == InputTurn(True, False, None)
    assert after_input(stand("filter"), answer=False) == InputTurn(True, False, None)  # batched


def test_without_a_model_nothing_is_conditioned() -> None:
    assert after_input(stand("filter", has_model=False), True) == InputTurn(False, False, None)


def test_a_change_starts_battle_and_rearms_call_and_response() -> None:
    assert after_change(stand("battle")) == "play"
    assert after_change(stand("callresponse")) == "wait_for_silence"
    assert after_change(stand("callresponse", heard_user=False)) is None  # nothing to answer yet
    assert after_change(stand("filter")) is None
    for held in ({"paused": True}, {"running": False}, {"has_model": False}):
        assert after_change(stand("battle", **held)) is None


def test_a_silence_timer_hands_the_turn_over_only_after_real_silence() -> None:
    assert after_silence(stand("callresponse"), silent_long_enough=True) == "play"
    assert after_silence(stand("callresponse"), silent_long_enough=False) == "wait_again"
    assert after_silence(stand("callresponse", responding=True), True) is None  # already has it
    assert after_silence(stand("callresponse", paused=True), True) is None
    assert after_silence(stand("filter"), True) is None  # a timer left from another mode


def test_the_model_plays_on_while_its_turn_lasts() -> None:
    assert plays_on(stand("battle"))
    assert plays_on(stand("callresponse", responding=True))
    assert not plays_on(stand("callresponse"))
    assert not plays_on(stand("battle", paused=True))
    assert not plays_on(stand("filter"))
