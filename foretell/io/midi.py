"""MIDI ports as a source and a sink of the engine (mido, with python-rtmidi as its backend).

- ``MidiSource`` listens on one or more input ports for one instrument: on the loop, each batch
  of messages it hears is checked by the feedback guard, forwarded (MIDI thru), decoded by
  ``MidiDecoder`` and delivered; only the newest input of a batch is answered. With
  ``channels`` it hears only those channels, so instruments can share a port.
- ``MidiSink`` plays each event through ``MidiEncoder`` on one or more output ports.
- ``EchoGuard`` stops feedback loops when a device is both input and output (a controller with
  motor faders or LED rings echoes what it is sent): a note, CC or pitch bend arriving from a
  device within ``echo_window`` (20 ms by default) of the same bytes being sent to it is dropped
  (counted as ``echo from DEVICE``), and thru never sends a device's messages back to itself.
  Encoders send a control's value only when it changed, so a performer who holds a fader where
  the model left it is not mistaken for its echo at every model event.

Ports are found, opened and shared by ``foretell.io.midi_ports.MidiPorts`` (give the sources and
sinks of one run the same one, and each port is opened once); the mapping codec lives in
``foretell.io.midi_map``. Nothing is opened until ``start()``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

import mido

from foretell.events import Event
from foretell.io.base import Inbox, Sink, Source, waiting
from foretell.io.midi_map import MidiDecoder, MidiEncoder
from foretell.io.midi_ports import (
    VIRTUAL,
    MidiError,
    MidiPorts,
    backend,
    device_of,
    port_names,
    resolve,
)

__all__ = [
    "VIRTUAL",
    "EchoGuard",
    "MidiError",
    "MidiPorts",
    "MidiSink",
    "MidiSource",
    "backend",
    "device_of",
    "port_names",
    "resolve",
]
log = logging.getLogger(__name__)
ECHO_MEMORY = 512  # sent messages remembered per device
ECHO_TYPES = ("note_on", "note_off", "control_change", "pitchwheel")  # what devices echo


# -- feedback guard -----------------------------------------------------------------------------


class EchoGuard:
    """foretell's feedback guard (loop only): remembers the notes, control changes and pitch bends
    sent to each device, to recognise them coming back.

    A motorised fader, an encoder's LED ring or a keyboard's local echo returns what it was sent
    within a few milliseconds; so a note, CC or pitch bend from a device is an echo only if the
    very same bytes went to that device at most ``window`` seconds before (each sent message
    explains one echo). Anything else (another value, another controller, a message sent to no
    one, or later) is the performer's and is kept. ``dropped`` counts echoes per device.
    """

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self.dropped: Counter[str] = Counter()
        self._sent: dict[str, deque[tuple[float, bytes]]] = {}

    def sent(self, device: str, message: mido.Message) -> None:
        if message.type in ECHO_TYPES:
            memory = self._sent.setdefault(device, deque(maxlen=ECHO_MEMORY))
            memory.append((self.clock(), bytes(message.bytes())))

    def is_echo(self, device: str, message: mido.Message) -> bool:
        """Whether ``message`` from ``device`` repeats something just sent to it (consumed)."""
        memory = self._sent.get(device)
        if not memory or message.type not in ECHO_TYPES:
            return False
        oldest = self.clock() - self.window
        while memory and memory[0][0] < oldest:
            memory.popleft()
        data = bytes(message.bytes())
        for i, (_, sent) in enumerate(memory):
            if sent == data:
                del memory[i]
                self.dropped[device] += 1
                return True
        return False


# -- transport ----------------------------------------------------------------------------------


class MidiSink(Sink):
    """Plays each event on the output ports (``MidiEncoder``), and forwards MIDI thru.

    ``start``/``stop``/``send``/``forward`` run on the engine's loop. rtmidi's send only hands
    bytes to the OS, so it does not block; a port error drops the event (counted). Sinks given
    the same ``ports`` share each opened port.
    """

    def __init__(
        self,
        names: Sequence[str],
        encoder: MidiEncoder,
        guard: EchoGuard | None = None,
        midi: Any | None = None,
        ports: MidiPorts | None = None,
    ) -> None:
        super().__init__()
        self.names = list(names)
        self.encoder = encoder
        self.guard = guard
        self.ports = ports or MidiPorts(midi)
        self._open_ports: list[tuple[str, Any]] = []  # (device, port)

    def __repr__(self) -> str:
        return f"MidiSink({', '.join(self.names)})"

    def describe(self) -> str:
        return "MIDI out " + ", ".join(self.names) + waiting(self)

    def _open(self) -> None:
        try:
            for name in self.names:
                self._open_ports.append(self.ports.open_output(name))
        except MidiError:
            self._close()
            raise

    def _send(self, event: Event) -> bool:
        return self._emit(self.encoder.encode(event.values), skip=None)

    def forward(self, message: mido.Message, device: str) -> None:
        """MIDI thru: send ``message`` as it came, never back to the device it came from."""
        if self.started:
            self._emit([message], skip=device if self.guard is not None else None)

    def _emit(self, messages: list[mido.Message], skip: str | None) -> bool:
        ok = True
        for device, port in self._open_ports:
            if device == skip:
                continue
            for message in messages:
                try:
                    port.send(message)
                except (OSError, ValueError, RuntimeError):
                    ok = False
                    continue
                if self.guard is not None:
                    self.guard.sent(device, message)
        return ok

    def silence(self) -> None:
        """Panic: note-offs for the notes it played, then All Notes Off (CC 123) on 16 channels."""
        if self.started:
            everything = [mido.Message("control_change", channel=c, control=123) for c in range(16)]
            self._emit([*self.encoder.release(), *everything], skip=None)

    def _close(self) -> None:
        release = self.encoder.release()
        for _, port in self._open_ports:
            try:
                for message in release:
                    port.send(message)
            except (OSError, ValueError, RuntimeError):
                pass
            self.ports.close_output(port)
        self._open_ports.clear()


class MidiSource(Source):
    """Delivers the control values mapped from the input ports' messages to one instrument.

    ``start``/``stop`` run on the engine's loop; ``ports`` calls ``take`` for each message this
    source hears (its ``channels``, mido's 0..15; ``None``: every message) and ``flush`` after each
    batch, both on the loop. ``received`` counts the messages it heard; ``ignored`` counts
    unmapped ones (and echoes) by reason.
    """

    def __init__(
        self,
        names: Sequence[str],
        decoder: MidiDecoder,
        thru: MidiSink | None = None,
        guard: EchoGuard | None = None,
        midi: Any | None = None,
        ports: MidiPorts | None = None,
        channels: frozenset[int] | None = None,
    ) -> None:
        super().__init__()
        self.names = list(names)
        self.decoder = decoder
        self.thru = thru
        self.guard = guard
        self.channels = channels
        self.received = 0
        self.ports = ports or MidiPorts(midi)
        self._batch: list[tuple[float, ...]] = []

    def __repr__(self) -> str:
        return f"MidiSource({', '.join(self.names)})"

    def describe(self) -> str:
        heard = self.channels
        channels = "" if heard is None else " channel " + ",".join(str(c + 1) for c in heard)
        return "MIDI in " + ", ".join(self.names) + channels + waiting(self)

    @property
    def ignored(self) -> dict[str, int]:
        return dict(self.decoder.ignored)

    def _open(self, inbox: Inbox) -> None:
        try:
            for name in self.names:
                self.ports.listen(name, self)
        except MidiError:
            self.ports.unlisten(self)
            raise

    def take(self, device: str, message: mido.Message) -> None:
        """On the loop: guard, thru and decode one message of a batch."""
        self.received += 1
        if self.guard is not None and self.guard.is_echo(device, message):
            self.decoder.ignored[f"echo from {device}"] += 1
            return
        if self.thru is not None:
            self.thru.forward(message, device)
        values = self.decoder.decode(message)
        if values is not None:
            self._batch.append(values)

    def flush(self) -> None:
        """On the loop: deliver the batch in order; only its last input is answered."""
        batch, self._batch = self._batch, []
        inbox = self._inbox
        if inbox is None:
            return
        last = len(batch) - 1
        for i, values in enumerate(batch):
            inbox.on_input(values, answer=i == last)

    def _close(self) -> None:
        self.ports.unlisten(self)
        self._batch.clear()
