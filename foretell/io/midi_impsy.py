"""IMPSY 1.0's MIDI semantics (``[midi] dialect = "impsy"``), as its conformance vectors (spec
1.0.0, ``tests/impsy/spec``) record them, so a model trained under IMPSY sees the same values and
its rig receives the same messages.

- In (``ImpsyDecoder``): a message sets *every* map of the port that takes it, as one
  interaction: a note-on sets its channel's ``note`` maps to ``note / 127`` and ``velocity``
  maps to ``velocity / 127``; a control change sets its ``cc`` maps to ``value / 127`` (with
  ``low``/``high``, IMPSY's ``[cc, ch, n, min, max]``: clamped to the range, scaled back to
  [0, 1]); a pitch bend sets its ``pitchwheel`` maps to ``raw / 16383`` (raw 0..16383). A note-on
  of velocity 0 is a note-off; note-offs, aftertouch and system messages move nothing (counted
  in ``ignored``). Every change delivers the whole vector of current values.
- Out (``ImpsyEncoder``): each value is clipped to [0, 1] and rounded once, half up:
  ``floor(v * 127 + 0.5)``, ``floor(min + v * (max - min) + 0.5)`` with a range,
  ``floor(v * 16383 + 0.5)`` for pitch bend. Each ``note`` map (a dimension) turns off its own
  previous note (unless another dimension of its channel now holds it), then plays a note-on at
  the velocity of its channel's first ``velocity`` map (``max(1, ...)``), else its own fixed
  ``velocity`` (``["note_on", ch, vel]``, clamped to 1..127), else the section's ``velocity``.
  A control change or pitch bend is sent only when its value differs from the last one sent for
  that channel and controller (IMPSY #110); ``release`` (all notes off) forgets them. Maps are
  played in the order given.
- Ports: a map with ``port`` reads or plays only on that port (by ``direction``), so each port
  has its own map, as IMPSY's ``input."PORT"`` and ``output."PORT"`` tables are.
- Routes (``[[midi.route]]``, IMPSY's ``thru_matrix``): the values read from an input port are
  also played at once on the route's outputs, through those outputs' maps.
- Feedback (``NoteEchoGuard``): with ``feedback_guard`` (IMPSY's ``feedback_protection``), a
  note-on arriving from a device within ``echo_window`` (``feedback_threshold``) of the same
  note-on (note and velocity) being sent to it last on that channel is dropped; nothing else the
  performer plays is.

Like ``midi_map`` the codecs are pure; the transports are ``MidiSource``/``MidiSink`` with these
codecs, one per port.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence

import mido

from foretell.config.transports import MidiConfig, MidiMap
from foretell.errors import ConfigError
from foretell.events import Event
from foretell.io.midi import EchoGuard, MidiPorts, MidiSink, MidiSource
from foretell.io.midi_map import from_unit, to_unit

MIDI_TOP = 127
IMPSY_TYPES = ("note", "velocity", "cc", "pitchwheel")
PITCH_CENTRE = 8192  # mido's pitch 0 is IMPSY's raw 8192


def _channel(m: MidiMap) -> int:
    return (m.channel or 1) - 1


def _is_note_off(message: mido.Message) -> bool:
    return message.type == "note_off" or (message.type == "note_on" and message.velocity == 0)


def _raw_in(m: MidiMap, message: mido.Message) -> int | None:
    """The raw value ``message`` gives map ``m`` (``None``: ``m`` does not take it)."""
    kind = message.type
    if kind == "note_on":
        return {"note": message.note, "velocity": message.velocity}.get(m.type)
    if kind == "control_change" and m.type == "cc" and m.number == message.control:
        return int(message.value)
    if kind == "pitchwheel" and m.type == "pitchwheel":
        return int(message.pitch)
    return None


class ImpsyDecoder:
    """One input port's messages -> the shared control values (every map that takes one)."""

    def __init__(self, maps: Sequence[MidiMap], values: list[float]) -> None:
        self.maps = [m for m in maps if m.type in IMPSY_TYPES]
        self.values = values  # shared by every input port of the instrument
        self.ignored: Counter[str] = Counter()
        self.changes = 0
        self.updates: tuple[tuple[int, float], ...] = ()  # the last message's (control, value)s

    def decode(self, message: mido.Message) -> tuple[float, ...] | None:
        """The control values after ``message``, or ``None`` if it maps to nothing."""
        self.updates = self._updates(message)
        if not self.updates:
            self.ignored["note_off" if _is_note_off(message) else "unmapped"] += 1
            return None
        for control, value in self.updates:
            self.values[control] = value
        self.changes += 1
        return tuple(self.values)

    def _updates(self, message: mido.Message) -> tuple[tuple[int, float], ...]:
        if _is_note_off(message) or not hasattr(message, "channel"):
            return ()
        found = []
        for m in self.maps:
            if m.channel is not None and m.channel - 1 != message.channel:
                continue
            raw = _raw_in(m, message)
            if raw is not None:
                found.append((m.control, to_unit(m, raw)))
        return tuple(found)


class ImpsyEncoder:
    """Control values -> one output port's messages, IMPSY 1.0's way (see the module docstring).

    Remembers each note map's sounding note and the last value sent to each controller and
    pitch bend, per channel, so it sends only what changed.
    """

    def __init__(self, maps: Sequence[MidiMap], velocity: int = MIDI_TOP) -> None:
        self.maps = [m for m in maps if m.type in IMPSY_TYPES]
        self.velocity = velocity
        self._sounding: dict[int, tuple[int, int]] = {}  # note map index -> (channel, note)
        self._last: dict[tuple[str, int, int | None], int] = {}  # (type, channel, cc) -> raw

    def encode(self, values: Sequence[float]) -> list[mido.Message]:
        messages: list[mido.Message] = []
        for index, m in enumerate(self.maps):
            if m.control >= len(values):
                continue
            channel = _channel(m)
            if m.type == "note":
                messages += self._note(index, m, channel, values)
            elif m.type in ("cc", "pitchwheel"):
                raw = from_unit(m, values[m.control])
                key = (m.type, channel, m.number)
                if self._last.get(key) != raw:
                    self._last[key] = raw
                    messages.append(_expression(m, channel, raw))
        return messages

    def _velocity(self, m: MidiMap, channel: int, values: Sequence[float]) -> int:
        for v in self.maps:
            if v.type == "velocity" and _channel(v) == channel and v.control < len(values):
                return max(1, from_unit(v, values[v.control]))
        if m.velocity is not None:
            return min(max(m.velocity, 1), MIDI_TOP)
        return self.velocity

    def _note(
        self, index: int, m: MidiMap, channel: int, values: Sequence[float]
    ) -> list[mido.Message]:
        messages = []
        previous = self._sounding.pop(index, None)
        if previous is not None and previous not in self._sounding.values():
            messages.append(_off(*previous))
        note, velocity = from_unit(m, values[m.control]), self._velocity(m, channel, values)
        messages.append(mido.Message("note_on", channel=channel, note=note, velocity=velocity))
        self._sounding[index] = (channel, note)
        return messages

    def release(self) -> list[mido.Message]:
        """One note-off per sounding (channel, note), and forget the values sent (disconnect)."""
        messages = [_off(c, n) for c, n in dict.fromkeys(self._sounding.values())]
        self._sounding.clear()
        self._last.clear()
        return messages


def _off(channel: int, note: int) -> mido.Message:
    return mido.Message("note_off", channel=channel, note=note, velocity=0)


def _expression(m: MidiMap, channel: int, raw: int) -> mido.Message:
    if m.type == "pitchwheel":
        return mido.Message("pitchwheel", channel=channel, pitch=raw)
    return mido.Message("control_change", channel=channel, control=m.number, value=raw)


class NoteEchoGuard(EchoGuard):
    """IMPSY's feedback protection: only a note-on repeating the last note-on sent to that device
    on its channel (the same note and, stricter than IMPSY, the same velocity: a device's echo
    repeats the bytes), within ``window`` seconds, is an echo (consumed); every other message is
    the performer's."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(window, clock)
        self._notes: dict[tuple[str, int], tuple[bytes, float]] = {}  # (device, ch) -> sent

    def sent(self, device: str, message: mido.Message) -> None:
        if message.type == "note_on" and message.velocity > 0:
            self._notes[(device, message.channel)] = (bytes(message.bytes()), self.clock())

    def is_echo(self, device: str, message: mido.Message) -> bool:
        if message.type != "note_on":
            return False
        key = (device, message.channel)
        last = self._notes.get(key)
        if (
            last is None
            or last[0] != bytes(message.bytes())
            or self.clock() - last[1] > self.window
        ):
            return False
        del self._notes[key]
        self.dropped[device] += 1
        return True


class ImpsySink(MidiSink):
    """A ``MidiSink`` on one port that can also play values straight away (a route)."""

    def _send(self, event: Event) -> bool:
        return self.play(event.values)

    def play(self, values: Sequence[float]) -> bool:
        """Play ``values`` (clipped to [0, 1]) now; False if a port refused a message."""
        return self.started and self._emit(self.encoder.encode(values), skip=None)


class ImpsySource(MidiSource):
    """A ``MidiSource`` on one port whose values also go to its routes' outputs at once."""

    def __init__(
        self,
        name: str,
        decoder: ImpsyDecoder,
        routes: Sequence[ImpsySink],
        guard: EchoGuard | None,
        ports: MidiPorts,
    ) -> None:
        super().__init__([name], decoder, None, guard, ports=ports)  # type: ignore[arg-type]
        self.impsy = decoder
        self.routes = list(routes)

    def take(self, device: str, message: mido.Message) -> None:
        before = self.impsy.changes
        super().take(device, message)
        if self.impsy.changes != before:
            for sink in self.routes:
                sink.play(self.impsy.values)


def build_impsy_midi(
    config: MidiConfig, controls: int, ports: MidiPorts
) -> tuple[list[ImpsySource], list[ImpsySink]]:
    """One source per input port and one sink per output port, each with its own maps."""
    for m in config.map:
        if m.type not in IMPSY_TYPES:
            raise ConfigError(
                f'midi.map type {m.type!r} is not one of dialect "impsy"\'s '
                f"({', '.join(IMPSY_TYPES)})"
            )
        if m.control >= controls:
            raise ConfigError(
                f"midi.map control {m.control} (port {m.port or 'any'}) is beyond the model's "
                f"{controls} controls"
            )
    guard = NoteEchoGuard(config.echo_window) if config.feedback_guard else None
    sinks = {
        name: ImpsySink(
            [name],
            ImpsyEncoder([m for m in config.map if m.serves(name, "out")], config.velocity),  # type: ignore[arg-type]
            guard,
            ports=ports,
        )
        for name in config.outputs
    }
    values = [config.initial] * controls
    sources = []
    for name in config.inputs:
        decoder = ImpsyDecoder([m for m in config.map if m.serves(name, "in")], values)
        sources.append(ImpsySource(name, decoder, _routes(config, name, sinks), guard, ports))
    return sources, list(sinks.values())


def _routes(config: MidiConfig, name: str, sinks: dict[str, ImpsySink]) -> list[ImpsySink]:
    chosen = []
    for route in config.route:
        if route.input not in config.inputs:
            raise ConfigError(f"midi.route input {route.input!r} is not one of midi.inputs")
        for output in route.outputs:
            if output not in sinks:
                raise ConfigError(f"midi.route output {output!r} is not one of midi.outputs")
            if route.input == name:
                chosen.append(sinks[output])
    return chosen
