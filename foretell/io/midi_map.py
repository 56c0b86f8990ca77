"""The MIDI codec: mido ``Message`` objects to control values and back, as a ``[[midi.map]]`` says.

- ``MidiDecoder.decode(message)`` updates the current control values from one message and
  returns them all (a MIDI message moves one control; the model wants the whole vector), or
  ``None`` when the message maps to nothing (counted in ``ignored`` by reason).
- ``MidiEncoder.encode(values)`` turns one event's control values into the messages to play:
  a controller (CC, pitch bend, aftertouch) only when its value changed since it was last sent
  on that channel (notes always play), as IMPSY 1.0 does.

Scaling is linear between a map's raw ``low``/``high`` (default the type's full range: 0..127,
0..16383 for 14-bit CC pairs, -8192..8191 for pitch bend) and [0, 1], rounded once, half up
(``floor(x + 0.5)``, IMPSY 1.0's rounding). Note-on with velocity 0 is
a note-off. With MPE, input follows the member channel of the newest note (expression on other
notes' channels is ignored) and output gives each note a member channel of its own (2..16), its
expression sent on that channel before the note.

An instrument's ``channel`` (``with_channel``) becomes the channel of every map that names none,
in and out, and limits what it hears (``channels_heard``), so several instruments can share one
port, a channel each.

No ports, threads or clocks here: pure state machines over message objects, testable with mido
alone. Channels are 1..16 in the config and 0..15 in mido.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import mido

from foretell.config.transports import MidiMap

DEFAULT_VELOCITY = 100
MPE_MEMBERS = range(1, 16)  # mido channels 1..15 = MIDI channels 2..16 (lower zone)
EXPRESSION = ("pitchwheel", "aftertouch", "polytouch", "control_change")


def default_maps(controls: int) -> tuple[MidiMap, ...]:
    """Without ``[[midi.map]]``: control i is CC 1+i (any channel in, channel 1 out)."""
    return tuple(MidiMap(control=i, type="cc", number=1 + i) for i in range(controls))


def with_channel(maps: Sequence[MidiMap], channel: int | None) -> tuple[MidiMap, ...]:
    """An instrument's ``channel`` (1..16) given to every map that names none."""
    if channel is None:
        return tuple(maps)
    return tuple(m if m.channel is not None else replace(m, channel=channel) for m in maps)


def channels_heard(maps: Sequence[MidiMap], channel: int | None) -> frozenset[int] | None:
    """The mido channels (0..15) an instrument with ``channel`` reads: its maps' channels once
    ``with_channel`` has given them one; ``None`` (every message) without ``channel``."""
    if channel is None:
        return None
    return frozenset(m.channel - 1 for m in with_channel(maps, channel) if m.channel is not None)


def to_unit(mapping: MidiMap, raw: int) -> float:
    """A raw MIDI value as a control value in [0, 1] (clipped)."""
    low, high = mapping.span
    return min(max((raw - low) / (high - low), 0.0), 1.0)


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)``: IMPSY 1.0's rounding (Python's ``round`` sends 38.5 to 38)."""
    return math.floor(x + 0.5)


def from_unit(mapping: MidiMap, value: float) -> int:
    """A control value in [0, 1] (clipped) as the map's raw MIDI value, rounded once, half up."""
    low, high = mapping.span
    return low + round_half_up(min(max(value, 0.0), 1.0) * (high - low))


def _on_channel(mapping: MidiMap, channel: int) -> bool:
    return mapping.channel is None or mapping.channel - 1 == channel


def _cc(channel: int, number: int | None, value: int) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=number, value=value)


def _is_note_off(message: mido.Message) -> bool:
    return message.type == "note_off" or (message.type == "note_on" and message.velocity == 0)


class MidiDecoder:
    """MIDI messages -> control values; holds the current value of every control."""

    def __init__(
        self,
        maps: Sequence[MidiMap],
        controls: int,
        *,
        note_off: bool = True,
        mpe: bool = False,
        initial: float = 0.5,
    ) -> None:
        self.maps = [m for m in maps if m.control < controls]
        self.values = [initial] * controls
        self.note_off = note_off
        self.mpe = mpe
        self.ignored: Counter[str] = Counter()
        self._lead: int | None = None  # MPE: the member channel of the newest note
        self._msb: dict[tuple[int, int], int] = {}  # 14-bit CC: (channel, number) -> MSB

    def decode(self, message: mido.Message) -> tuple[float, ...] | None:
        """The control values after ``message``, or ``None`` if it changes none of them."""
        reason = self._skip_reason(message)
        if reason is None:
            changes = self._changes(message)
            if changes:
                for control, value in changes:
                    self.values[control] = value
                return tuple(self.values)
            reason = "unmapped"
        self.ignored[reason] += 1
        return None

    def _skip_reason(self, message: mido.Message) -> str | None:
        if not hasattr(message, "channel"):
            return "unmapped"  # system messages: clock, sysex, ...
        if _is_note_off(message) and not self.note_off:
            return "note_off"
        if not self.mpe:
            return None
        if message.type == "note_on" and message.velocity > 0:
            self._lead = message.channel
            return None
        if message.channel == 0 or message.channel == self._lead:
            return None  # the master channel, or the newest note's own channel
        return "other_voice"

    def _changes(self, message: mido.Message) -> list[tuple[int, float]]:
        kind, channel = message.type, message.channel
        changes = []
        for m in self.maps:
            if not _on_channel(m, channel):
                continue
            raw = self._raw(m, message, kind)
            if raw is not None:
                changes.append((m.control, to_unit(m, raw)))
        return changes

    def _raw(self, m: MidiMap, message: mido.Message, kind: str) -> int | None:
        if kind == "control_change":
            return self._controller(m, message)
        if kind in ("note_on", "note_off"):
            if _is_note_off(message):
                return 0 if m.type == "velocity" else None
            if m.type == "note":
                return int(message.note)
            return int(message.velocity) if m.type == "velocity" else None
        if kind == "pitchwheel" and m.type == "pitchwheel":
            return int(message.pitch)
        if kind == "aftertouch" and m.type == "aftertouch":
            return int(message.value)
        if kind == "polytouch" and m.type == "polytouch":
            return int(message.value) if m.number in (None, message.note) else None
        return None

    def _controller(self, m: MidiMap, message: mido.Message) -> int | None:
        number, value = message.control, message.value
        if m.type == "cc":
            return int(value) if number == m.number else None
        if m.type != "cc14" or m.number is None:
            return None
        key = (message.channel, m.number)
        if number == m.number:  # MSB: the LSB restarts at 0
            self._msb[key] = value
            return int(value) << 7
        if number == m.number + 32:  # LSB refines the last MSB
            return (self._msb.get(key, 0) << 7) | int(value)
        return None


class MidiEncoder:
    """Control values -> MIDI messages; remembers the sounding note to end it."""

    def __init__(self, maps: Sequence[MidiMap], *, mpe: bool = False) -> None:
        self.maps = list(maps)
        self.mpe = mpe
        self._notes = [m for m in self.maps if m.type == "note"]
        self._velocity = next((m for m in self.maps if m.type == "velocity"), None)
        self._sounding: dict[int, tuple[int, int]] = {}  # note map index -> (channel, note)
        self._member = MPE_MEMBERS[-1]  # the last member channel used (MPE)
        self._last: dict[tuple[object, ...], int] = {}  # (type, channel, number) -> raw sent

    def encode(self, values: Sequence[float]) -> list[mido.Message]:
        """The messages that play ``values``: expression first, then note-off/note-on."""
        if self.mpe and self._notes:
            self._member = MPE_MEMBERS[(self._member) % len(MPE_MEMBERS)]
        messages: list[mido.Message] = []
        for m in self.maps:
            if m.control < len(values) and m.type not in ("note", "velocity"):
                raw = from_unit(m, values[m.control])
                if self._changed(m, raw):
                    messages.extend(self._expression(m, raw))
        for index, m in enumerate(self._notes):
            if m.control < len(values):
                messages.extend(self._note(index, m, values))
        return messages

    def _changed(self, m: MidiMap, raw: int) -> bool:
        """Whether ``raw`` differs from what this map's controller was last sent (then noted).
        Expression that follows the note (MPE member channels, polytouch on the sounding note)
        goes with each note: always sent."""
        if (self.mpe and m.channel is None) or (m.type == "polytouch" and m.number is None):
            return True
        key = (m.type, self._channel(m), m.number)
        if self._last.get(key) == raw:
            return False
        self._last[key] = raw
        return True

    def _channel(self, m: MidiMap) -> int:
        if m.channel is not None:
            return m.channel - 1
        return self._member if self.mpe else 0

    def _expression(self, m: MidiMap, raw: int) -> list[mido.Message]:
        channel = self._channel(m)
        match m.type:
            case "cc":
                return [_cc(channel, m.number, raw)]
            case "cc14":
                assert m.number is not None
                return [_cc(channel, m.number, raw >> 7), _cc(channel, m.number + 32, raw & 127)]
            case "pitchwheel":
                return [mido.Message("pitchwheel", channel=channel, pitch=raw)]
            case "aftertouch":
                return [mido.Message("aftertouch", channel=channel, value=raw)]
            case "polytouch":
                note = m.number if m.number is not None else self._note_on(channel)
                if note is None:
                    return []
                return [mido.Message("polytouch", channel=channel, note=note, value=raw)]
        return []

    def _note_on(self, channel: int) -> int | None:
        return next((n for c, n in self._sounding.values() if c == channel), None)

    def _note(self, index: int, m: MidiMap, values: Sequence[float]) -> list[mido.Message]:
        velocity = DEFAULT_VELOCITY if m.velocity is None else min(max(m.velocity, 1), 127)
        v = self._velocity
        if v is not None and v.control < len(values):
            velocity = from_unit(v, values[v.control])
        messages = []
        previous = self._sounding.pop(index, None)
        if previous is not None:
            messages.append(mido.Message("note_off", channel=previous[0], note=previous[1]))
        if velocity > 0:
            channel, note = self._channel(m), from_unit(m, values[m.control])
            messages.append(mido.Message("note_on", channel=channel, note=note, velocity=velocity))
            self._sounding[index] = (channel, note)
        return messages

    def release(self) -> list[mido.Message]:
        """Note-offs for every sounding note (when the output closes); the values sent are
        forgotten, so the next event sends every control again."""
        messages = [mido.Message("note_off", channel=c, note=n) for c, n in self._sounding.values()]
        self._sounding.clear()
        self._last.clear()
        return messages
