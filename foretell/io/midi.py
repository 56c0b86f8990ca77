"""MIDI ports as a source and a sink of the engine (mido, with python-rtmidi as its backend).

- ``MidiSource`` listens on one or more input ports. The backend calls back on its own thread;
  the callback only queues the message and wakes the loop (``call_soon_threadsafe``). On the loop
  each batch is checked by the feedback guard, forwarded (MIDI thru), decoded by
  ``MidiDecoder`` and delivered; only the newest input of a batch is answered.
- ``MidiSink`` plays each event through ``MidiEncoder`` on one or more output ports.
- ``EchoGuard`` stops feedback loops when a device is both input and output (a controller with
  motor faders or LED rings echoes what it is sent): a message arriving from a device within
  ``echo_window`` of the same bytes being sent to it is dropped (counted as ``echo``), and thru
  never sends a device's messages back to itself.

Ports are chosen by name: the exact name, else the one name containing it (case-insensitive);
``virtual:NAME`` creates a virtual port instead (ALSA, JACK, CoreMIDI; not Windows). A name that
matches nothing is one ``MidiError`` listing the available ports; no MIDI system at all (no ALSA
sequencer) is one ``MidiError`` saying so. The mapping codec lives in ``foretell.io.midi_map``.
Nothing is opened until ``start()``; rtmidi is imported only then (through mido's backend).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import mido

from foretell.errors import ForetellError
from foretell.events import Event
from foretell.io.base import Inbox, Sink, Source
from foretell.io.midi_map import MidiDecoder, MidiEncoder

log = logging.getLogger(__name__)
VIRTUAL = "virtual:"
ECHO_MEMORY = 512  # sent messages remembered per device


class MidiError(ForetellError):
    """A MIDI port cannot be found or opened, or no MIDI backend is available."""


# -- ports --------------------------------------------------------------------------------------


def backend(name: str | None = None) -> Any:
    """mido's backend (``MIDO_BACKEND`` or rtmidi), not loaded until first used."""
    return mido.Backend(name, load=False)


def _no_backend(detail: str) -> MidiError:
    return MidiError(f"no MIDI backend is available ({detail}); MIDI ports cannot be used")


def _check_alsa(midi: Any) -> None:
    """Refuse early (and without ALSA's stderr noise) where rtmidi's ALSA has no sequencer."""
    default_rtmidi = midi.name == "mido.backends.rtmidi" and midi.api is None
    if sys.platform.startswith("linux") and default_rtmidi and not os.path.exists("/dev/snd/seq"):
        raise _no_backend("no ALSA sequencer: /dev/snd/seq is missing; try 'modprobe snd-seq'")


def port_names(midi: Any | None = None) -> tuple[list[str], list[str]]:
    """The (input, output) port names the backend sees; ``MidiError`` if there is no backend."""
    midi = midi or backend()
    _check_alsa(midi)
    try:
        return list(midi.get_input_names()), list(midi.get_output_names())
    except (OSError, ImportError, RuntimeError) as exc:
        raise _no_backend(str(exc)) from exc


def resolve(name: str, available: Sequence[str], direction: str) -> str:
    """The port called ``name``: an exact match, else the one name containing it."""
    if name in available:
        return name
    found = [a for a in available if name.lower() in a.lower()]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(repr(a) for a in available) or "none"
    if found:
        raise MidiError(f"MIDI {direction} {name!r} is ambiguous (matches: {listed})")
    raise MidiError(f"MIDI {direction} {name!r} not found (available: {listed})")


def device_of(port: str) -> str:
    """The device part of a port name (ALSA appends ' client:port', which differs in and out)."""
    name = port.removeprefix(VIRTUAL)
    return re.sub(r"\s+\d+:\d+$", "", name).strip().lower()


def _open(midi: Any, name: str, direction: str, **kwargs: Any) -> Any:
    """Open one port by name (``virtual:NAME`` creates one); ``MidiError`` saying why not."""
    opener = midi.open_input if direction == "input" else midi.open_output
    names = port_names(midi)[0 if direction == "input" else 1]
    try:
        if name.startswith(VIRTUAL):
            return opener(name.removeprefix(VIRTUAL), virtual=True, **kwargs)
        return opener(resolve(name, names, direction), **kwargs)
    except MidiError:
        raise
    except (OSError, ImportError, RuntimeError, NotImplementedError) as exc:
        raise MidiError(f"cannot open MIDI {direction} {name!r} ({exc})") from exc


# -- feedback guard -----------------------------------------------------------------------------


class EchoGuard:
    """Remembers what was sent to each device, to recognise it coming back (loop only)."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._sent: dict[str, deque[tuple[float, bytes]]] = {}

    def sent(self, device: str, message: mido.Message) -> None:
        memory = self._sent.setdefault(device, deque(maxlen=ECHO_MEMORY))
        memory.append((self.clock(), bytes(message.bytes())))

    def is_echo(self, device: str, message: mido.Message) -> bool:
        """Whether ``message`` from ``device`` repeats something just sent to it (consumed)."""
        memory = self._sent.get(device)
        if not memory:
            return False
        oldest = self.clock() - self.window
        while memory and memory[0][0] < oldest:
            memory.popleft()
        data = bytes(message.bytes())
        for i, (_, sent) in enumerate(memory):
            if sent == data:
                del memory[i]
                return True
        return False


# -- transport ----------------------------------------------------------------------------------


class MidiSink(Sink):
    """Plays each event on the output ports (``MidiEncoder``), and forwards MIDI thru.

    ``start``/``stop``/``send``/``forward`` run on the engine's loop. rtmidi's send only hands
    bytes to the OS, so it does not block; a port error drops the event (counted).
    """

    def __init__(
        self,
        names: Sequence[str],
        encoder: MidiEncoder,
        guard: EchoGuard | None = None,
        midi: Any | None = None,
    ) -> None:
        super().__init__()
        self.names = list(names)
        self.encoder = encoder
        self.guard = guard
        self._midi = midi
        self._ports: list[tuple[str, Any]] = []  # (device, port)

    def __repr__(self) -> str:
        return f"MidiSink({', '.join(self.names)})"

    def _open(self) -> None:
        midi = self._midi or backend()
        try:
            for name in self.names:
                port = _open(midi, name, "output")
                self._ports.append((device_of(port.name or name), port))
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
        for device, port in self._ports:
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

    def _close(self) -> None:
        release = self.encoder.release()
        for _, port in self._ports:
            try:
                for message in release:
                    port.send(message)
                port.close()
            except (OSError, ValueError, RuntimeError):
                pass
        self._ports.clear()


class MidiSource(Source):
    """Delivers the control values mapped from the input ports' messages.

    ``start``/``stop`` run on the engine's loop. The backend calls ``_callback`` on its own
    thread (one per port); it queues the message and wakes the loop, which runs ``_drain``.
    ``received`` counts messages; ``ignored`` counts unmapped ones (and echoes) by reason.
    """

    def __init__(
        self,
        names: Sequence[str],
        decoder: MidiDecoder,
        thru: MidiSink | None = None,
        guard: EchoGuard | None = None,
        midi: Any | None = None,
    ) -> None:
        super().__init__()
        self.names = list(names)
        self.decoder = decoder
        self.thru = thru
        self.guard = guard
        self.received = 0
        self._midi = midi
        self._ports: list[Any] = []
        self._queue: deque[tuple[str, mido.Message]] = deque()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"MidiSource({', '.join(self.names)})"

    @property
    def ignored(self) -> dict[str, int]:
        return dict(self.decoder.ignored)

    def _open(self, inbox: Inbox) -> None:
        midi = self._midi or backend()
        self._loop = asyncio.get_running_loop()
        try:
            for name in self.names:
                port = _open(midi, name, "input")
                device = device_of(port.name or name)
                port.callback = self._callback_for(device, inbox)
                self._ports.append(port)
        except MidiError:
            self._close()
            raise

    def _callback_for(self, device: str, inbox: Inbox) -> Callable[[mido.Message], None]:
        def callback(message: mido.Message) -> None:  # the backend's thread
            self._queue.append((device, message))
            if not self._wake_pending and self._loop is not None:
                self._wake_pending = True
                with contextlib.suppress(RuntimeError):  # a closed loop: the engine stopped
                    self._loop.call_soon_threadsafe(self._drain, inbox)

        return callback

    def _drain(self, inbox: Inbox) -> None:
        """On the loop: every queued message in order; only the last input is answered."""
        self._wake_pending = False
        inputs = []
        while self._queue:
            device, message = self._queue.popleft()
            self.received += 1
            if self.guard is not None and self.guard.is_echo(device, message):
                self.decoder.ignored["echo"] += 1
                continue
            if self.thru is not None:
                self.thru.forward(message, device)
            values = self.decoder.decode(message)
            if values is not None:
                inputs.append(values)
        if self._inbox is None:
            return
        for i, values in enumerate(inputs):
            inbox.on_input(values, answer=i == len(inputs) - 1)

    def _close(self) -> None:
        for port in self._ports:
            try:
                port.callback = None
                port.close()
            except (OSError, RuntimeError):
                pass
        self._ports.clear()
        self._loop = None
