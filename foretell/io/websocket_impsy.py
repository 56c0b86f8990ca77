"""IMPSY's WebSocket text protocol (``[websocket] protocol = "impsy"``): MIDI as text lines.

Each message is one MIDI message, channels 1..16::

    /channel/1/noteon/60/127        note-on: channel, note, velocity
    /channel/1/noteoff/60/0         note-off (sent after each note, ignored in)
    /channel/1/cc/74/100            control change: channel, controller, value
    /channel/1/pitchbend/8192       pitch bend: channel, raw 14-bit value 0..16383

In, a line becomes a mido message read by ``ImpsyDecoder`` (IMPSY 1.0's mapping, as for MIDI:
every map that takes it, a note-on of velocity 0 is a note-off, the whole vector per change); a
line that is not this protocol is rejected with an error answer, a line no map takes is
rejected as unmapped. Out, each model event is played by ``ImpsyEncoder`` (controllers and pitch
bends only when changed) and every message is sent as one line. Inputs are not echoed (IMPSY
sends only predictions). The maps are ``[[websocket.map]]`` tables (as ``[[midi.map]]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import mido

from foretell.config.transports import WebSocketConfig
from foretell.events import Event
from foretell.io.midi_impsy import IMPSY_TYPES, ImpsyDecoder, ImpsyEncoder
from foretell.io.websocket import WebSocketError, WebSocketServer, WebSocketSink

KINDS = {"noteon": "note_on", "noteoff": "note_off", "cc": "control_change"}
WIRE = {kind: wire for wire, kind in KINDS.items()}
BEND = "pitchbend"
BEND_TOP = 16383
PITCH_CENTRE = 8192  # mido's pitch 0
FORM = "/channel/CH/noteon|noteoff|cc/NUMBER/VALUE or /channel/CH/pitchbend/VALUE"


def parse_line(text: str | bytes) -> mido.Message:
    """One IMPSY line as a mido message; ``WebSocketError`` naming what is wrong."""
    if not isinstance(text, str):
        raise WebSocketError(f"binary message of {len(text)} bytes (send IMPSY's text lines)")
    parts = text.split("/")
    bend = len(parts) == 5 and parts[3] == BEND
    if not (bend or (len(parts) == 6 and parts[3] in KINDS)) or parts[0] or parts[1] != "channel":
        raise WebSocketError(f"{text[:60]!r} is not {FORM} (IMPSY's protocol)")
    try:
        channel, *numbers = (int(part) for part in parts[2:3] + parts[4:])
    except ValueError as exc:
        raise WebSocketError(f"{text[:60]!r} holds a non-integer") from exc
    top = BEND_TOP if bend else 127
    if not (1 <= channel <= 16 and all(0 <= n <= top for n in numbers)):
        raise WebSocketError(f"{text[:60]!r}: channel 1..16, numbers 0..{top}")
    if bend:
        return mido.Message("pitchwheel", channel=channel - 1, pitch=numbers[0] - PITCH_CENTRE)
    number, value = numbers
    kind = KINDS[parts[3]]
    if kind == "control_change":
        return mido.Message(kind, channel=channel - 1, control=number, value=value)
    return mido.Message(kind, channel=channel - 1, note=number, velocity=value)


def format_line(message: mido.Message) -> str:
    """A mido note-on, note-off, control change or pitch bend as IMPSY's line."""
    if message.type == "pitchwheel":
        return f"/channel/{message.channel + 1}/{BEND}/{message.pitch + PITCH_CENTRE}"
    head = f"/channel/{message.channel + 1}/{WIRE[message.type]}"
    if message.type == "control_change":
        return f"{head}/{message.control}/{message.value}"
    return f"{head}/{message.note}/{message.velocity}"


class ImpsyLineDecoder:
    """Text lines -> the control values (what ``WebSocketServer.decode`` calls)."""

    def __init__(self, decoder: ImpsyDecoder) -> None:
        self.decoder = decoder

    def __call__(self, text: str | bytes) -> list[object]:
        message = parse_line(text)
        values = self.decoder.decode(message)
        if values is None:
            raise WebSocketError(f"{text!r} is not in the [websocket] input map")
        return list(values)


class ImpsyWebSocketSink(WebSocketSink):
    """Plays each model event as IMPSY's lines; user inputs are not echoed."""

    def __init__(self, server: WebSocketServer, encoder: ImpsyEncoder) -> None:
        super().__init__(server)
        self.encoder = encoder

    def _send(self, event: Event) -> bool:
        return True if event.source != "model" else self.play(event.values)

    def play(self, values: Sequence[float]) -> bool:
        """Send the lines that play ``values`` (clipped to [0, 1]); False if one was dropped."""
        ok = True
        for message in self.encoder.encode(values):
            ok = self.server.broadcast(format_line(message)) and ok
        return ok

    def echo(self, instrument: str, event: Event) -> None:
        """IMPSY's protocol carries predictions only."""

    def _close(self) -> None:
        for message in self.encoder.release():
            self.server.broadcast(format_line(message))
        super()._close()


def impsy_protocol(
    server: WebSocketServer, config: WebSocketConfig, controls: int | None
) -> ImpsyWebSocketSink:
    """Give ``server`` IMPSY's line decoder and return the sink that speaks it."""
    maps = [m for m in config.map if m.type in IMPSY_TYPES]
    if controls is None:
        controls = max((m.control for m in maps), default=-1) + 1
    maps = [m for m in maps if m.control < controls]
    inputs = [m for m in maps if m.direction != "out"]
    server.decode = ImpsyLineDecoder(ImpsyDecoder(inputs, [0.5] * controls))
    outputs = [m for m in maps if m.direction != "in"]
    return ImpsyWebSocketSink(server, ImpsyEncoder(outputs, config.velocity))
