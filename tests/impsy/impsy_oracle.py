"""IMPSY's MIDI mapping written out from its documented behaviour (impsy/utils.py and
impsy/impsio.py at 2fa5804), independently of foretell's code, to check foretell against.

- ``index_value``: IMPSY's ``midi_message_to_index_value`` (the first entry equal to
  ``["note_on", ch]`` or ``["control_change", ch, cc]`` takes the message; value / 127).
- ``ImpsyOutput``: ``output_values_to_midi_messages`` plus ``MIDIServer.send``'s note-off of the
  last note on a channel before each note-on, and ``get_midi_note_offs`` at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import mido


def index_value(message: mido.Message, entries: list[list[object]]) -> tuple[int, float] | None:
    channel = message.channel + 1
    if message.type == "note_on":
        key: list[object] = ["note_on", channel]
        value = message.note / 127.0
    elif message.type == "control_change":
        key, value = ["control_change", channel, message.control], message.value / 127.0
    else:
        return None
    return (entries.index(key), value) if key in entries else None


def message_for(entry: list[object], i: int, salt: int = 0) -> mido.Message:
    """A message an IMPSY input entry maps (distinct numbers for each entry and ``salt``)."""
    channel = int(entry[1]) - 1  # type: ignore[call-overload]
    if entry[0] == "note_on":
        return mido.Message("note_on", channel=channel, note=30 + 7 * i + salt, velocity=90)
    control = int(entry[2])  # type: ignore[call-overload]
    value = (9 + 13 * i + salt) % 128
    return mido.Message("control_change", channel=channel, control=control, value=value)


class ImpsyOutput:
    """The messages IMPSY sends one output port for a sequence of value vectors."""

    def __init__(self, entries: list[list[object]]) -> None:
        self.entries = entries
        self.last: dict[int, int] = {}

    def send(self, values: Sequence[float]) -> list[mido.Message]:
        clipped = [min(max(v, 0.0), 1.0) for v in values]
        midi = [math.ceil(v * 127) for v in clipped]
        out = []
        for i in range(len(values)):
            entry = self.entries[i]
            channel = int(entry[1]) - 1  # type: ignore[call-overload]
            if entry[0] == "note_on":
                if channel in self.last:
                    out.append(
                        mido.Message(
                            "note_off", channel=channel, note=self.last[channel], velocity=0
                        )
                    )
                out.append(mido.Message("note_on", channel=channel, note=midi[i], velocity=127))
                self.last[channel] = midi[i]
            elif entry[0] == "control_change":
                value = midi[i]
                if len(entry) == 5:
                    low, high = int(entry[3]), int(entry[4])  # type: ignore[call-overload]
                    value = int(math.ceil((high - low) * value / 127) + low)
                out.append(
                    mido.Message("control_change", channel=channel, control=entry[2], value=value)
                )
        return out

    def note_offs(self) -> list[mido.Message]:
        return [
            mido.Message("note_off", channel=c, note=n, velocity=0) for c, n in self.last.items()
        ]
