"""The feedback guards keep every performer message that is not provably an echo.

foretell's ``EchoGuard``: a note, CC or pitch bend from a device is an echo only if the very same
bytes went to that device within the window (20 ms by default), one echo per message sent.
IMPSY's (``NoteEchoGuard``, dialect "impsy"): only a note-on repeating the last note-on sent to
that device on its channel (note and velocity), within ``feedback_threshold``. Both count
echoes per device."""

from __future__ import annotations

import mido

from foretell.config.transports import MidiConfig
from foretell.io.midi import EchoGuard
from foretell.io.midi_impsy import NoteEchoGuard

M = mido.Message


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_foretells_window_is_narrow_by_default() -> None:
    assert MidiConfig().echo_window == 0.02


def test_foretell_guard_drops_only_the_same_bytes_within_the_window() -> None:
    clock = Clock()
    guard = EchoGuard(0.02, clock)
    fader = M("control_change", control=7, value=64)
    guard.sent("xtouch", fader)
    guard.sent("xtouch", M("note_on", note=60, velocity=127))
    assert not guard.is_echo("xtouch", M("control_change", control=7, value=65))  # another value
    assert not guard.is_echo("xtouch", M("control_change", control=8, value=64))  # another CC
    assert not guard.is_echo("keys", fader)  # sent to another device
    assert guard.is_echo("xtouch", fader)  # the motor fader's echo
    assert not guard.is_echo("xtouch", fader)  # the performer, at the same value: one echo only
    clock.now = 0.021
    assert not guard.is_echo("xtouch", M("note_on", note=60, velocity=127))  # too late
    assert guard.dropped == {"xtouch": 1}


def test_foretell_guard_ignores_what_devices_do_not_echo() -> None:
    guard = EchoGuard(0.02, Clock())
    change = M("program_change", program=3)
    guard.sent("synth", change)
    assert not guard.is_echo("synth", change)


def test_impsy_guard_drops_only_a_note_echoing_the_last_note_out() -> None:
    clock = Clock()
    guard = NoteEchoGuard(0.02, clock)
    guard.sent("s1", M("control_change", channel=2, control=19, value=64))
    guard.sent("s1", M("note_on", channel=2, note=60, velocity=127))
    guard.sent("s1", M("note_on", channel=2, note=62, velocity=127))  # the last note out
    assert not guard.is_echo("s1", M("control_change", channel=2, control=19, value=64))  # a CC
    assert not guard.is_echo("s1", M("note_on", channel=2, note=60, velocity=127))  # not the last
    assert not guard.is_echo("s1", M("note_on", channel=3, note=62, velocity=127))  # other channel
    assert not guard.is_echo("other", M("note_on", channel=2, note=62, velocity=127))
    assert not guard.is_echo("s1", M("note_on", channel=2, note=62, velocity=90))  # played: 90
    clock.now = 0.015
    assert guard.is_echo("s1", M("note_on", channel=2, note=62, velocity=127))
    assert not guard.is_echo("s1", M("note_on", channel=2, note=62, velocity=127))  # consumed
    guard.sent("s1", M("note_on", channel=2, note=64, velocity=127))
    clock.now = 0.05
    assert not guard.is_echo("s1", M("note_on", channel=2, note=64, velocity=127))  # too late
    assert guard.dropped == {"s1": 1}
