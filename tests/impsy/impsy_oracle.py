"""IMPSY 1.0's MIDI mapping written out from its conformance specification (spec 1.0.0, the
descriptions in ``spec/vectors``), independently of foretell's code, to check foretell against on
real ports.

- ``index_values``: every entry that takes a message, with its value (note / 127, velocity / 127,
  CC value / 127 or scaled back from ``[cc, ch, n, min, max]``, pitch bend raw / 16383); a
  velocity-0 note-on is a note-off and takes nothing.
- ``ImpsyOutput``: the messages sent for each output vector: values clipped to [0, 1] and rounded
  with ``floor(x + 0.5)``; each note dimension turns off its own previous note (unless another
  dimension of its channel holds it now), then plays its note; CCs and pitch bends only when
  their value changed (per channel and controller).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import mido

Entry = list[object]


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def index_values(message: mido.Message, entries: Sequence[Entry]) -> list[tuple[int, float]]:
    if (message.type == "note_on" and message.velocity == 0) or not hasattr(message, "channel"):
        return []
    channel = message.channel + 1
    found = []
    for index, entry in enumerate(entries):
        if _int(entry[1]) != channel:
            continue
        kind = entry[0]
        if message.type == "note_on" and kind == "note_on":
            found.append((index, message.note / 127))
        elif message.type == "note_on" and kind == "note_velocity":
            found.append((index, message.velocity / 127))
        elif message.type == "pitchwheel" and kind == "pitch_bend":
            found.append((index, (message.pitch + 8192) / 16383))
        elif message.type == "control_change" and kind == "control_change":
            if _int(entry[2]) != message.control:
                continue
            if len(entry) == 5:
                low, high = _int(entry[3]), _int(entry[4])
                raw = min(max(message.value, min(low, high)), max(low, high))
                found.append((index, (raw - low) / (high - low)))
            else:
                found.append((index, message.value / 127))
    return found


def message_for(entry: Entry, i: int, salt: int = 0) -> mido.Message:
    """A message an IMPSY input entry maps (distinct numbers for each entry and ``salt``)."""
    channel = _int(entry[1]) - 1
    if entry[0] in ("note_on", "note_velocity"):
        return mido.Message("note_on", channel=channel, note=30 + 7 * i + salt, velocity=90)
    if entry[0] == "pitch_bend":
        return mido.Message("pitchwheel", channel=channel, pitch=(97 * (i + salt)) % 8192)
    value = (9 + 13 * i + salt) % 128
    if len(entry) == 5:
        low, high = sorted((_int(entry[3]), _int(entry[4])))
        value = low + value % (high - low + 1)
    return mido.Message("control_change", channel=channel, control=_int(entry[2]), value=value)


def _round(x: float) -> int:
    return math.floor(x + 0.5)


class ImpsyOutput:
    """The messages IMPSY 1.0 sends one output port for a sequence of value vectors."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self.sounding: dict[int, tuple[int, int]] = {}  # entry index -> (channel, note)
        self.last: dict[tuple[str, int, int], int] = {}  # ("cc"|"bend", channel, number) -> raw

    def send(self, values: Sequence[float]) -> list[mido.Message]:
        clipped = [min(max(v, 0.0), 1.0) for v in values]
        out = []
        for i, entry in enumerate(self.entries):
            if i >= len(clipped):
                break
            channel, v = _int(entry[1]) - 1, clipped[i]
            if entry[0] == "note_on":
                previous = self.sounding.pop(i, None)
                if previous is not None and previous not in self.sounding.values():
                    out.append(
                        mido.Message("note_off", channel=previous[0], note=previous[1], velocity=0)
                    )
                note = _round(v * 127)
                velocity = self._velocity(entry, channel, clipped)
                out.append(mido.Message("note_on", channel=channel, note=note, velocity=velocity))
                self.sounding[i] = (channel, note)
            elif entry[0] == "control_change":
                low, high = (_int(entry[3]), _int(entry[4])) if len(entry) == 5 else (0, 127)
                raw = _round(low + v * (high - low))
                if self.last.get(("cc", channel, _int(entry[2]))) != raw:
                    self.last[("cc", channel, _int(entry[2]))] = raw
                    out.append(
                        mido.Message("control_change", channel=channel, control=entry[2], value=raw)
                    )
            elif entry[0] == "pitch_bend":
                raw = _round(v * 16383)
                if self.last.get(("bend", channel, 0)) != raw:
                    self.last[("bend", channel, 0)] = raw
                    out.append(mido.Message("pitchwheel", channel=channel, pitch=raw - 8192))
        return out

    def _velocity(self, entry: Entry, channel: int, values: Sequence[float]) -> int:
        for i, other in enumerate(self.entries):
            if other[0] == "note_velocity" and _int(other[1]) - 1 == channel and i < len(values):
                return max(1, _round(values[i] * 127))
        return min(max(_int(entry[2]), 1), 127) if len(entry) == 3 else 127

    def note_offs(self) -> list[mido.Message]:
        notes = dict.fromkeys(self.sounding.values())
        return [mido.Message("note_off", channel=c, note=n, velocity=0) for c, n in notes]
