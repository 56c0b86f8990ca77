"""Raw MIDI bytes over a serial line (``[serial] protocol = "midi"``, IMPSY's ``[serialmidi]``):
a DIN-MIDI or TRS-MIDI adapter on a Raspberry Pi's UART, usually at 31250 baud.

The link is ``SerialLink`` (reader thread, reconnects, writes that never block); only what a
chunk of bytes means differs: the bytes are parsed by mido's ``Parser`` (running status and
system real-time bytes included) and each message read by ``ImpsyDecoder``, IMPSY 1.0's mapping
(every map that takes it, the whole vector per change). Out, each model event is played by
``ImpsyEncoder`` (controllers only when changed) and written as one chunk of MIDI bytes.
"""

from __future__ import annotations

import mido

from foretell.config.transports import SerialConfig
from foretell.events import Event
from foretell.io.midi_impsy import IMPSY_TYPES, ImpsyDecoder, ImpsyEncoder
from foretell.io.serial import (
    Decoded,
    LineSplitter,
    SerialLink,
    SerialSink,
    SerialSource,
    deliver,
)


class SerialMidiLink(SerialLink):
    """A ``SerialLink`` whose bytes are MIDI messages, read through an ``ImpsyDecoder``."""

    def __init__(self, config: SerialConfig, decoder: ImpsyDecoder) -> None:
        assert config.port is not None
        super().__init__(config.port, config.baud, 1.0, config.reconnect)
        self.decoder = decoder
        self.parser = mido.Parser()
        self.messages = 0  # MIDI messages parsed

    def _hand_over(self, splitter: LineSplitter, data: bytes) -> None:
        """On the reader thread: parse, map, and hand the values to the loop in one batch."""
        self.parser.feed(data)
        batch: list[Decoded] = []
        for message in self.parser:
            self.messages += 1
            values = self.decoder.decode(message)
            if values is not None:
                batch.append(list(values))
        self.received += len(batch)
        if batch:
            self._call(deliver, batch)


class SerialMidiSink(SerialSink):
    """Writes each model event's MIDI messages as one chunk of bytes (never blocks)."""

    def __init__(self, link: SerialMidiLink, encoder: ImpsyEncoder) -> None:
        super().__init__(link)
        self.encoder = encoder

    def _send(self, event: Event) -> bool:
        data = b"".join(bytes(m.bin()) for m in self.encoder.encode(event.values))
        return self.link.write(data) if data else True

    def _close(self) -> None:
        release = b"".join(bytes(m.bin()) for m in self.encoder.release())
        if release:
            self.link.write(release)
        super()._close()


def serial_midi(config: SerialConfig, controls: int | None) -> tuple[SerialSource, SerialMidiSink]:
    """The source and sink of one serial-MIDI device, with its ``[[serial.map]]`` tables."""
    maps = [m for m in config.map if m.type in IMPSY_TYPES]
    if controls is None:
        controls = max((m.control for m in maps), default=-1) + 1
    maps = [m for m in maps if m.control < controls]
    decoder = ImpsyDecoder([m for m in maps if m.direction != "out"], [0.5] * controls)
    link = SerialMidiLink(config, decoder)
    encoder = ImpsyEncoder([m for m in maps if m.direction != "in"], config.velocity)
    return SerialSource(link), SerialMidiSink(link, encoder)
