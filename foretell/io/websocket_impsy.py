"""IMPSY's WebSocket text protocol (``[websocket] protocol = "impsy"``): MIDI as text lines.

Each message is one MIDI message, channels 1..16::

    /channel/1/noteon/60/127        note-on: channel, note, velocity
    /channel/1/noteoff/60/0         note-off (sent after each note, ignored in)
    /channel/1/cc/74/100            control change: channel, controller, value

In, a line becomes a mido message read by ``ImpsyDecoder`` (IMPSY's first-match lookup, note
number and CC value / 127, the whole vector per change); a line that is not this protocol is
rejected with an error answer, a line no map takes is rejected as unmapped. Out, each model
event is played by ``ImpsyEncoder`` and every message is sent as one line. Inputs are not echoed
(IMPSY sends only predictions). The maps are ``[[websocket.map]]`` tables (as ``[[midi.map]]``).
"""

from __future__ import annotations

import mido

from foretell.config.transports import WebSocketConfig
from foretell.events import Event
from foretell.io.midi_impsy import IMPSY_TYPES, ImpsyDecoder, ImpsyEncoder
from foretell.io.websocket import WebSocketError, WebSocketServer, WebSocketSink

KINDS = {"noteon": "note_on", "noteoff": "note_off", "cc": "control_change"}
WIRE = {kind: wire for wire, kind in KINDS.items()}


def parse_line(text: str | bytes) -> mido.Message:
    """One IMPSY line as a mido message; ``WebSocketError`` naming what is wrong."""
    if not isinstance(text, str):
        raise WebSocketError(f"binary message of {len(text)} bytes (send IMPSY's text lines)")
    parts = text.split("/")
    if len(parts) != 6 or parts[0] or parts[1] != "channel" or parts[3] not in KINDS:
        raise WebSocketError(
            f"{text[:60]!r} is not /channel/CH/noteon|noteoff|cc/NUMBER/VALUE (IMPSY's protocol)"
        )
    try:
        channel, number, value = int(parts[2]), int(parts[4]), int(parts[5])
    except ValueError as exc:
        raise WebSocketError(f"{text[:60]!r} holds a non-integer") from exc
    if not (1 <= channel <= 16 and 0 <= number <= 127 and 0 <= value <= 127):
        raise WebSocketError(f"{text[:60]!r}: channel 1..16, numbers 0..127")
    kind = KINDS[parts[3]]
    if kind == "control_change":
        return mido.Message(kind, channel=channel - 1, control=number, value=value)
    return mido.Message(kind, channel=channel - 1, note=number, velocity=value)


def format_line(message: mido.Message) -> str:
    """A mido note-on, note-off or control change as IMPSY's line."""
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
        if event.source != "model":
            return True
        ok = True
        for message in self.encoder.encode(event.values):
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
