"""IMPSY's MIDI semantics (``[midi] dialect = "impsy"``), so a model trained under IMPSY sees the
same values and its rig receives the same messages.

- In (``ImpsyDecoder``): a note-on, whatever its velocity (0 too), sets its control to
  ``note / 127``; a control change to ``value / 127``. Only the *first* map of the port that
  matches the message's type, channel (and controller) takes it. Note-off, velocity, pitch bend,
  aftertouch and system messages move nothing (counted in ``ignored``). Every change delivers
  the whole vector of current values.
- Out (``ImpsyEncoder``): each value is clipped to [0, 1] and becomes ``ceil(v * 127)``; a note
  map sends a note-off for the last note it played on its channel, then a note-on at the fixed
  ``velocity`` (IMPSY's 127); a control change with ``low``/``high`` sends
  ``ceil((high - low) * raw / 127) + low``. Maps are played in the order given.
- Ports: a map with ``port`` reads or plays only on that port (by ``direction``), so each port
  has its own map, as IMPSY's ``input."PORT"`` and ``output."PORT"`` tables are.
- Routes (``[[midi.route]]``, IMPSY's ``thru_matrix``): the values read from an input port are
  also played at once on the route's outputs, through those outputs' maps.
- Feedback: ``feedback_guard`` with ``echo_window`` (IMPSY's ``feedback_protection`` and
  ``feedback_threshold``) drops what a device echoes back of what was just sent to it.

Like ``midi_map`` the codecs are pure; the transports are ``MidiSource``/``MidiSink`` with these
codecs, one per port.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import mido

from foretell.config.transports import MidiConfig, MidiMap
from foretell.errors import ConfigError
from foretell.io.midi import EchoGuard, MidiPorts, MidiSink, MidiSource

MIDI_TOP = 127
IMPSY_TYPES = ("note", "cc")


def impsy_raw(value: float) -> int:
    """IMPSY's output value: clipped to [0, 1], then ``ceil(value * 127)``."""
    return math.ceil(min(max(value, 0.0), 1.0) * MIDI_TOP)


def impsy_range(raw: int, low: int, high: int) -> int:
    """IMPSY's ``[..., min, max]`` output scaling of a raw 0..127 value."""
    return math.ceil((high - low) * raw / MIDI_TOP) + low


def _channel(m: MidiMap) -> int:
    return (m.channel or 1) - 1


class ImpsyDecoder:
    """One input port's messages -> the shared control values (IMPSY's first-match lookup)."""

    def __init__(self, maps: Sequence[MidiMap], values: list[float]) -> None:
        self.maps = [m for m in maps if m.type in IMPSY_TYPES]
        self.values = values  # shared by every input port of the instrument
        self.ignored: Counter[str] = Counter()
        self.changes = 0

    def decode(self, message: mido.Message) -> tuple[float, ...] | None:
        """The control values after ``message``, or ``None`` if it maps to nothing."""
        found = self._lookup(message)
        if found is None:
            self.ignored["note_off" if message.type == "note_off" else "unmapped"] += 1
            return None
        control, value = found
        self.values[control] = value
        self.changes += 1
        return tuple(self.values)

    def _lookup(self, message: mido.Message) -> tuple[int, float] | None:
        kind = message.type
        if kind not in ("note_on", "control_change"):
            return None
        for m in self.maps:
            if m.channel is not None and m.channel - 1 != message.channel:
                continue
            if kind == "note_on" and m.type == "note":
                return m.control, message.note / MIDI_TOP
            if kind == "control_change" and m.type == "cc" and m.number == message.control:
                return m.control, message.value / MIDI_TOP
        return None


class ImpsyEncoder:
    """Control values -> one output port's messages, IMPSY's way; remembers each channel's note."""

    def __init__(self, maps: Sequence[MidiMap], velocity: int = MIDI_TOP) -> None:
        self.maps = [m for m in maps if m.type in IMPSY_TYPES]
        self.velocity = velocity
        self._last: dict[int, int] = {}  # channel (0..15) -> the note it played last

    def encode(self, values: Sequence[float]) -> list[mido.Message]:
        messages: list[mido.Message] = []
        for m in self.maps:
            if m.control >= len(values):
                continue
            raw, channel = impsy_raw(values[m.control]), _channel(m)
            if m.type == "note":
                if channel in self._last:
                    messages.append(self._off(channel, self._last[channel]))
                messages.append(
                    mido.Message("note_on", channel=channel, note=raw, velocity=self.velocity)
                )
                self._last[channel] = raw
            else:
                if m.low is not None or m.high is not None:
                    raw = impsy_range(raw, *m.span)
                messages.append(
                    mido.Message("control_change", channel=channel, control=m.number, value=raw)
                )
        return messages

    @staticmethod
    def _off(channel: int, note: int) -> mido.Message:
        return mido.Message("note_off", channel=channel, note=note, velocity=0)

    def release(self) -> list[mido.Message]:
        """Note-offs for the last note of every channel (when the output closes)."""
        messages = [self._off(c, n) for c, n in self._last.items()]
        self._last.clear()
        return messages


class ImpsySink(MidiSink):
    """A ``MidiSink`` on one port that can also play values straight away (a route)."""

    def play(self, values: Sequence[float]) -> None:
        if self.started:
            self._emit(self.encoder.encode(values), skip=None)


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
                f'midi.map type {m.type!r} is not one of dialect "impsy"\'s (note, cc)'
            )
        if m.control >= controls:
            raise ConfigError(
                f"midi.map control {m.control} (port {m.port or 'any'}) is beyond the model's "
                f"{controls} controls"
            )
    guard = EchoGuard(config.echo_window) if config.feedback_guard else None
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
