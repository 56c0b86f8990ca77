"""IMPSY 1.0's MIDI and WebSocket semantics (dialect "impsy"), beyond its conformance vectors
(``test_conformance`` runs those): what the model reads and what the rig receives on IMPSY's
shipped maps."""

from __future__ import annotations

import mido
import pytest

from foretell.config.transports import MidiMap
from foretell.errors import ConfigError
from foretell.io.midi_impsy import ImpsyDecoder, ImpsyEncoder
from foretell.io.websocket import WebSocketError
from foretell.io.websocket_impsy import format_line, parse_line

M = mido.Message


def s1_maps(direction: str = "both") -> list[MidiMap]:
    """IMPSY's Roland S-1 map: a note and 7 CCs on channel 3."""
    ccs = [19, 20, 21, 3, 13, 24, 25]
    return [MidiMap(0, "note", channel=3, direction=direction)] + [  # type: ignore[arg-type]
        MidiMap(i + 1, "cc", channel=3, number=n, direction=direction)  # type: ignore[arg-type]
        for i, n in enumerate(ccs)
    ]


def test_note_on_sets_its_control_to_note_over_127_and_velocity_zero_is_a_note_off() -> None:
    values = [0.5] * 8
    decoder = ImpsyDecoder(s1_maps(), values)
    assert decoder.decode(M("note_on", channel=2, note=64, velocity=90))[0] == 64 / 127
    assert decoder.decode(M("note_on", channel=2, note=60, velocity=0)) is None
    assert decoder.decode(M("note_off", channel=2, note=60)) is None
    got = decoder.decode(M("control_change", channel=2, control=24, value=127))
    assert got == (64 / 127, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.5)  # the whole vector
    assert decoder.ignored == {"note_off": 2}


def test_wrong_channel_and_unmapped_controller_move_nothing() -> None:
    decoder = ImpsyDecoder(s1_maps(), [0.0] * 8)
    assert decoder.decode(M("note_on", channel=0, note=64)) is None  # channel 1, map says 3
    assert decoder.decode(M("control_change", channel=2, control=71, value=5)) is None
    assert decoder.decode(M("pitchwheel", channel=2, pitch=100)) is None
    assert decoder.ignored == {"unmapped": 3}


def test_every_matching_map_takes_a_message() -> None:
    """IMPSY's OP-1 config lists ["note_on", 1] four times: IMPSY 1.0 moves all four (#102)."""
    maps = [MidiMap(i, "note", channel=1) for i in (0, 2, 4)]
    values = [0.0] * 6
    ImpsyDecoder(maps, values).decode(M("note_on", channel=0, note=127))
    assert values == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]


def test_output_rounds_half_up_sends_notes_always_and_controls_only_when_changed() -> None:
    encoder = ImpsyEncoder(s1_maps())
    first = encoder.encode([0.5, 0.0, 1.0, 0.25, 1.2, -0.1, 0.3, 0.999])
    assert first == [
        M("note_on", channel=2, note=64, velocity=127),  # floor(63.5 + 0.5)
        M("control_change", channel=2, control=19, value=0),
        M("control_change", channel=2, control=20, value=127),
        M("control_change", channel=2, control=21, value=32),  # floor(31.75 + 0.5)
        M("control_change", channel=2, control=3, value=127),  # clipped
        M("control_change", channel=2, control=13, value=0),
        M("control_change", channel=2, control=24, value=38),  # 38.1 (ceil gave 39)
        M("control_change", channel=2, control=25, value=127),
    ]
    second = encoder.encode([0.5, 0.0, 1.0, 0.25, 1.2, -0.1, 0.3, 0.5])
    assert second == [
        M("note_off", channel=2, note=64, velocity=0),  # even for the same note again
        M("note_on", channel=2, note=64, velocity=127),
        M("control_change", channel=2, control=25, value=64),  # the one control that moved
    ]
    assert encoder.release() == [M("note_off", channel=2, note=64, velocity=0)]
    assert encoder.release() == []
    assert len(encoder.encode([0.5] * 8)) == 8  # after a release every control is sent again


def test_min_max_output_rounds_once() -> None:
    """X-TOUCH rings: ["control_change", 1, 9, 0, 13]."""
    encoder = ImpsyEncoder([MidiMap(0, "cc", channel=1, number=9, low=0, high=13)])
    sent = [encoder.encode([v]) for v in (0.0, 0.5, 0.77, 1.0)]
    assert [m.value for (m,) in sent] == [0, 7, 10, 13]  # floor(13 * v + 0.5)


def test_a_fixed_velocity_can_be_set() -> None:
    (message,) = ImpsyEncoder([MidiMap(0, "note", channel=1)], velocity=100).encode([0.5])
    assert message.velocity == 100
    (message,) = ImpsyEncoder([MidiMap(0, "note", channel=1, velocity=90)]).encode([0.5])
    assert message.velocity == 90


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/channel/1/noteon/60/127", M("note_on", channel=0, note=60, velocity=127)),
        ("/channel/16/noteoff/0/0", M("note_off", channel=15, note=0, velocity=0)),
        ("/channel/3/cc/74/5", M("control_change", channel=2, control=74, value=5)),
        ("/channel/2/pitchbend/16383", M("pitchwheel", channel=1, pitch=8191)),
        ("/channel/2/pitchbend/0", M("pitchwheel", channel=1, pitch=-8192)),
    ],
)
def test_websocket_lines_round_trip(line: str, message: mido.Message) -> None:
    assert parse_line(line) == message and format_line(message) == line


@pytest.mark.parametrize(
    "line",
    [
        "",
        "hello",
        "/channel/0/noteon/60/127",
        "/channel/17/cc/1/1",
        "/channel/1/noteon/60",
        "/channel/1/pitch/1/1",
        "/channel/1/pitchbend/16384",
        "/channel/1/pitchbend/1/2",
        "/channel/1/cc/x/1",
        "/channel/1/cc/1/128",
        '{"interface": [0.5]}',
        b"\x90\x3c\x7f",
    ],
)
def test_bad_websocket_lines_are_one_error(line: str | bytes) -> None:
    with pytest.raises(WebSocketError) as caught:
        parse_line(line)
    assert "\n" not in str(caught.value)


def test_dialect_impsy_rejects_other_message_types() -> None:
    from foretell.config.transports import MidiConfig
    from foretell.io.midi import MidiPorts
    from foretell.io.midi_impsy import build_impsy_midi

    config = MidiConfig(inputs=("a",), map=(MidiMap(0, "aftertouch"),), dialect="impsy")
    with pytest.raises(ConfigError, match="not one of dialect"):
        build_impsy_midi(config, 1, MidiPorts(object()))
    config = MidiConfig(inputs=("a",), map=(MidiMap(3, "cc", number=1),), dialect="impsy")
    with pytest.raises(ConfigError, match="beyond the model's 2 controls"):
        build_impsy_midi(config, 2, MidiPorts(object()))
