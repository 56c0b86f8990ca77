"""The MIDI mapping codec with real mido message objects (no ports needed)."""

from __future__ import annotations

import mido
import pytest

from foretell.config.transports import MidiMap
from foretell.errors import ConfigError
from foretell.io.midi_map import MidiDecoder, MidiEncoder, default_maps, from_unit, to_unit

M = mido.Message


def test_cc_in_and_out_with_channels() -> None:
    maps = [MidiMap(0, "cc", channel=1, number=74), MidiMap(1, "cc", number=7)]
    decoder = MidiDecoder(maps, 3, initial=0.5)
    assert decoder.decode(M("control_change", channel=0, control=74, value=127)) == (1, 0.5, 0.5)
    assert decoder.decode(M("control_change", channel=9, control=7, value=0)) == (1, 0, 0.5)
    assert decoder.decode(M("control_change", channel=1, control=74, value=5)) is None  # ch 2
    assert decoder.decode(M("control_change", channel=0, control=75, value=5)) is None
    assert decoder.ignored == {"unmapped": 2}
    assert MidiEncoder(maps).encode([0.0, 1.0, 0.3]) == [
        M("control_change", channel=0, control=74, value=0),
        M("control_change", channel=0, control=7, value=127),
    ]


def test_default_maps_are_cc_1_up() -> None:
    decoder = MidiDecoder(default_maps(2), 2)
    assert decoder.decode(M("control_change", control=2, value=127)) == (0.5, 1.0)


def test_notes_velocity_and_note_off() -> None:
    maps = [MidiMap(0, "note", low=36, high=84), MidiMap(1, "velocity")]
    decoder = MidiDecoder(maps, 2)
    assert decoder.decode(M("note_on", note=60, velocity=127)) == (0.5, 1.0)
    assert decoder.decode(M("note_on", note=60, velocity=0)) == (0.5, 0.0)  # vel 0 is note-off
    assert decoder.decode(M("note_on", note=96, velocity=64)) == (1.0, 64 / 127)  # clipped
    assert decoder.decode(M("note_off", note=96, velocity=64)) == (1.0, 0.0)


def test_note_off_ignored_like_impsy() -> None:
    decoder = MidiDecoder([MidiMap(0, "note")], 1, note_off=False)
    assert decoder.decode(M("note_off", note=60)) is None
    assert decoder.decode(M("note_on", note=60, velocity=0)) is None
    assert decoder.decode(M("note_on", note=127, velocity=1)) == (1.0,)
    assert decoder.ignored == {"note_off": 2}


def test_note_off_without_a_velocity_map_changes_nothing() -> None:
    decoder = MidiDecoder([MidiMap(0, "note")], 1)
    assert decoder.decode(M("note_off", note=60)) is None
    assert decoder.ignored == {"unmapped": 1}


def test_pitchwheel_pressure_and_polytouch() -> None:
    maps = [
        MidiMap(0, "pitchwheel"),
        MidiMap(1, "aftertouch"),
        MidiMap(2, "polytouch", number=60),
    ]
    decoder = MidiDecoder(maps, 3, initial=0.0)
    assert decoder.decode(M("pitchwheel", pitch=-8192)) == (0.0, 0.0, 0.0)
    assert decoder.decode(M("pitchwheel", pitch=8191)) == (1.0, 0.0, 0.0)
    assert decoder.decode(M("aftertouch", value=127)) == (1.0, 1.0, 0.0)
    assert decoder.decode(M("polytouch", note=61, value=127)) is None
    assert decoder.decode(M("polytouch", note=60, value=127)) == (1.0, 1.0, 1.0)
    assert MidiEncoder(maps).encode([0.5, 0.0, 1.0]) == [
        M("pitchwheel", pitch=0),
        M("aftertouch", value=0),
        M("polytouch", note=60, value=127),
    ]


def test_14_bit_control_change_pairs() -> None:
    maps = [MidiMap(0, "cc14", number=1)]
    decoder = MidiDecoder(maps, 1)
    assert decoder.decode(M("control_change", control=1, value=127)) == (127 * 128 / 16383,)
    assert decoder.decode(M("control_change", control=33, value=127)) == (1.0,)
    assert decoder.decode(M("control_change", control=1, value=0)) == (0.0,)  # MSB resets LSB
    messages = MidiEncoder(maps).encode([1.0])
    assert messages == [
        M("control_change", control=1, value=127),
        M("control_change", control=33, value=127),
    ]


def test_system_messages_and_garbage_bytes_are_counted_not_fatal() -> None:
    decoder = MidiDecoder(default_maps(1), 1)
    garbage = bytes([0xF8, 0x00, 0x37, 0xFE, 0xB0, 0x01]) + bytes([0x40, 0xF0, 0x7E, 0xF7])
    results = [decoder.decode(m) for m in mido.parse_all(garbage)]
    assert results == [None, None, (64 / 127,), None]  # clock, active sensing, CC 1, sysex
    assert decoder.ignored == {"unmapped": 3}


def test_encoder_retriggers_notes_and_stops_at_zero_velocity() -> None:
    encoder = MidiEncoder([MidiMap(0, "note"), MidiMap(1, "velocity", channel=2)])
    assert encoder.encode([60 / 127, 1.0]) == [M("note_on", note=60, velocity=127)]
    assert encoder.encode([62 / 127, 0.5]) == [
        M("note_off", note=60),
        M("note_on", note=62, velocity=64),
    ]
    assert encoder.encode([64 / 127, 0.0]) == [M("note_off", note=62)]
    assert encoder.encode([65 / 127]) == [M("note_on", note=65, velocity=100)]  # no velocity value
    assert encoder.release() == [M("note_off", note=65)]


def test_mpe_input_follows_the_newest_note() -> None:
    maps = [MidiMap(0, "note"), MidiMap(1, "pitchwheel"), MidiMap(2, "cc", number=74)]
    decoder = MidiDecoder(maps, 3, mpe=True, initial=0.0)
    decoder.decode(M("note_on", channel=1, note=60, velocity=100))
    assert decoder.decode(M("pitchwheel", channel=1, pitch=8191)) == (60 / 127, 1.0, 0.0)
    decoder.decode(M("note_on", channel=2, note=64, velocity=100))
    assert decoder.decode(M("pitchwheel", channel=1, pitch=-8192)) is None  # an older note
    assert decoder.decode(M("control_change", channel=2, control=74, value=127)) is not None
    assert decoder.decode(M("control_change", channel=0, control=74, value=0)) is not None
    assert decoder.ignored == {"other_voice": 1}


def test_mpe_output_gives_each_note_its_channel() -> None:
    encoder = MidiEncoder([MidiMap(0, "note"), MidiMap(1, "pitchwheel")], mpe=True)
    first = encoder.encode([60 / 127, 1.0])
    second = encoder.encode([62 / 127, 0.0])
    assert first == [
        M("pitchwheel", channel=1, pitch=8191),
        M("note_on", channel=1, note=60, velocity=100),
    ]
    assert second == [
        M("pitchwheel", channel=2, pitch=-8192),
        M("note_off", channel=1, note=60),
        M("note_on", channel=2, note=62, velocity=100),
    ]
    channels = {encoder.encode([0.5, 0.5])[-1].channel for _ in range(30)}
    assert channels == set(range(1, 16))  # member channels 2..16, never the master


@pytest.mark.parametrize("kind", ["cc", "note", "velocity", "pitchwheel", "aftertouch", "cc14"])
def test_scaling_round_trips_within_one_step(kind: str) -> None:
    mapping = MidiMap(0, kind, number=1 if kind.startswith("cc") else None)  # type: ignore[arg-type]
    low, high = mapping.span
    for value in (0.0, 0.1, 0.5, 0.77, 1.0):
        assert abs(to_unit(mapping, from_unit(mapping, value)) - value) <= 0.5 / (high - low)
    assert to_unit(mapping, low) == 0.0 and to_unit(mapping, high) == 1.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": "cc"},  # no controller number
        {"type": "cc14", "number": 40},
        {"type": "note", "channel": 17},
        {"type": "pitchwheel", "low": 0, "high": 0},
        {"type": "velocity", "high": 200},
    ],
)
def test_bad_maps_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"midi\.map"):
        MidiMap(0, **kwargs)  # type: ignore[arg-type]


def test_output_rounds_half_up_like_impsy() -> None:
    """Python's round sent 38.5 to 38 and 0.5 of a CC to 64 only by luck (banker's rounding)."""
    cc = MidiMap(0, "cc", number=1)
    assert [from_unit(cc, v) for v in (0.3, 38.5 / 127, 0.5, 1.5 / 127)] == [38, 39, 64, 2]
    bend = MidiMap(0, "pitchwheel")
    assert [from_unit(bend, v) for v in (0.0, 0.5, 1.0)] == [-8192, 0, 8191]


def test_encoder_sends_a_controller_only_when_its_value_changed() -> None:
    maps = [
        MidiMap(0, "cc", number=1),
        MidiMap(1, "pitchwheel"),
        MidiMap(2, "note"),
        MidiMap(3, "cc", channel=2, number=1),  # the same controller on another channel
    ]
    encoder = MidiEncoder(maps)
    assert len(encoder.encode([0.5, 0.5, 0.5, 0.5])) == 4
    again = encoder.encode([0.502, 0.5, 0.5, 0.5])  # 0.502 is still CC value 64
    assert again == [M("note_off", note=64), M("note_on", note=64, velocity=100)]
    moved = encoder.encode([0.6, 0.5, 0.5, 0.25])
    assert moved[0] == M("control_change", control=1, value=76)
    assert moved[1] == M("control_change", channel=1, control=1, value=32)
    assert len(moved) == 4  # two controllers moved; the note always plays
    encoder.release()
    assert len(encoder.encode([0.6, 0.5, 0.5, 0.25])) == 4  # after a release, all again


def test_a_note_map_can_fix_its_velocity() -> None:
    (on,) = MidiEncoder([MidiMap(0, "note", velocity=90)]).encode([0.5])
    assert on == M("note_on", note=64, velocity=90)
