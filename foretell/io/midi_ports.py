"""MIDI ports by name, each opened once per run however many instruments use it.

- Lookup: ``port_names()`` lists what the backend sees; ``resolve(name, ...)`` picks the exact
  name, else the one name containing it (case-insensitive); ``virtual:NAME`` creates a virtual
  port instead (ALSA, JACK, CoreMIDI; not Windows). A name that matches nothing is one
  ``MidiError`` listing the available ports; no MIDI system at all (no ALSA sequencer, no JACK
  server) is one ``MidiError`` saying so.
- API: ``backend(api)`` is python-rtmidi on ``alsa``, ``jack``, ``coremidi`` or ``winmm``
  (``--midi-api``, ``[midi] api``); without one, ``MIDO_BACKEND`` if set, else what works here:
  ALSA where ``/dev/snd/seq`` exists, else JACK (or PipeWire's JACK, ``pw-jack``) when a JACK
  server answers; CoreMIDI on macOS, WinMM on Windows.
- Sharing: ``MidiPorts`` opens each port on first use and closes it after its last user. An
  output is handed to every sink that names it; an input hands each message to every ``MidiTap``
  listening on it that hears the message's channel, so instruments on different channels of one
  keyboard or one DAW port read only their own (the common rig: one port, a channel per voice).

Threads: ``listen``/``unlisten``/``open_output``/``close_output`` run on the engine's loop. The
backend calls back on its own thread; the callback only queues the message and wakes the loop,
where ``_drain`` hands the batch to the taps in order and then lets each deliver it. Nothing is
opened until first used; rtmidi is imported only then (through mido's backend).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import mido

from foretell.errors import ForetellError

VIRTUAL = "virtual:"
T = TypeVar("T")


class MidiError(ForetellError):
    """A MIDI port cannot be found or opened, or no MIDI backend is available."""

    retry = True  # a device may be plugged in later: worth opening again


class MidiSetupError(MidiError):
    """No MIDI system to talk to (no backend, no JACK server, an unknown API) or a port name that
    matches several ports: a setup mistake to say at once, not a device to wait for."""

    retry = False


# -- lookup -------------------------------------------------------------------------------------


RTMIDI = "mido.backends.rtmidi"
CLIENT = "foretell"  # the client name of foretell's virtual ports (JACK: foretell:NAME)
APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}
NO_SEQUENCER = "no ALSA sequencer: /dev/snd/seq is missing; try 'modprobe snd-seq'"
# rtmidi's JACK output hands messages over in JACK's next cycle; a port closed before then
# garbles them (python-rtmidi 1.5.8: the last message repeated). Two cycles of 1024 frames:
JACK_DRAIN = 0.05
# JACK_GIL: rtmidi's JACK input calls its Python callback on JACK's process thread. Closing the
# port (holding the GIL: python-rtmidi 1.5.8 does not release it) waits for that thread; if it is
# waiting for the GIL inside a callback, JACK gives up and cancels it, and the thread dies holding
# the GIL's mutex: the whole process hangs for good (seen here with gdb: every thread in
# take_gil/drop_gil). So an input is closed with no Python callback left on JACK's thread:
# rtmidi's callback is cancelled, the GIL is let go for two cycles (a callback under way ends),
# then the port closes. This is done on rtmidi's own object (``_close_input``) because mido 1.3.3
# cannot: its ``callback`` setter registers its wrapper again whatever it is set to (None too),
# and its ``close()`` sets it to None just before closing the port.
NO_JACK = "no JACK server is running; start one (jackd -d alsa) or run under PipeWire with pw-jack"
# A busy JACK server now and then refuses a new client ("JACK server not running?") while it
# runs; each lookup or open is tried again after these pauses before it counts as failed.
JACK_RETRIES = (0.05, 0.2)


def backend(api: str | None = None) -> Any:
    """mido's backend on ``api`` (see the module docstring), not loaded until first used."""
    if api is not None:
        _check_api(api)
        return mido.Backend(RTMIDI, api=APIS[api], load=False)
    if os.environ.get("MIDO_BACKEND"):
        return mido.Backend(load=False)
    return mido.Backend(RTMIDI, api=APIS[default_api()], load=False)


def _check_api(api: str) -> None:
    if api not in APIS:
        raise MidiSetupError(f"MIDI API {api!r} is unknown (expected one of: {', '.join(APIS)})")


def default_api() -> str:
    """The API that works here: the platform's, and on Linux ALSA's, else a running JACK's."""
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform.startswith("win"):
        return "winmm"
    if os.path.exists("/dev/snd/seq") or not jack_answers():
        return "alsa"
    return "jack"


def api_of(midi: Any) -> str:
    """The short name (``jack``) of a backend's API, or the backend's own name."""
    by_rtmidi = {rt: short for short, rt in APIS.items()}
    if midi.name == RTMIDI and midi.api in by_rtmidi:
        return by_rtmidi[midi.api]
    return str(midi.name) + (f"/{midi.api}" if midi.api else "")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Hide what C libraries print on fd 2 (libjack's connection failures) for a moment."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def jack_answers() -> bool:
    """Whether a JACK server (``JACK_DEFAULT_SERVER``, else the default one) accepts a client."""
    try:
        import rtmidi
    except ImportError:
        return False
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        return False
    try:
        with _quiet_stderr():
            rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK).delete()
    except rtmidi.RtMidiError:
        return False
    return True


def _no_backend(detail: str) -> MidiError:
    return MidiSetupError(f"no MIDI backend is available ({detail}); MIDI ports cannot be used")


def _check_system(midi: Any) -> None:
    """Refuse early, in one line, where the chosen API has no system to talk to."""
    if midi.name != RTMIDI:
        return
    if midi.api == APIS["alsa"] and sys.platform.startswith("linux"):
        if not os.path.exists("/dev/snd/seq"):
            jack = (
                "a JACK server answers: --midi-api jack"
                if jack_answers()
                else "no JACK server either"
            )
            raise _no_backend(f"{NO_SEQUENCER}; {jack}")
    elif midi.api == APIS["jack"] and not jack_answers():
        raise _no_backend(NO_JACK)
    elif midi.api in APIS.values():
        import rtmidi

        if getattr(rtmidi, f"API_{midi.api}") not in rtmidi.get_compiled_api():
            by_id = {getattr(rtmidi, f"API_{rt}"): short for short, rt in APIS.items()}
            built = ", ".join(by_id.get(a, str(a)) for a in rtmidi.get_compiled_api())
            raise _no_backend(f"this python-rtmidi has no {api_of(midi)} API (it has: {built})")


def _patiently(midi: Any, call: Callable[[], T]) -> T:
    """``call()``, tried again after ``JACK_RETRIES`` pauses where JACK refused a client."""
    for pause in JACK_RETRIES if midi.name == RTMIDI and midi.api == APIS["jack"] else ():
        try:
            return call()
        except RuntimeError:  # rtmidi's SystemError: the client was refused
            time.sleep(pause)
    return call()


def port_names(midi: Any | None = None) -> tuple[list[str], list[str]]:
    """The (input, output) port names the backend sees; ``MidiError`` if there is no backend."""
    midi = midi or backend()
    _check_system(midi)
    try:
        return _patiently(
            midi, lambda: (list(midi.get_input_names()), list(midi.get_output_names()))
        )
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
        raise MidiSetupError(f"MIDI {direction} {name!r} is ambiguous (matches: {listed})")
    raise MidiError(f"MIDI {direction} {name!r} not found (available: {listed})")


def device_of(port: str) -> str:
    """The device part of a port name, the same for a device's input and output: ALSA's
    ``client:port`` numbers, JACK's client (``keys-01:``) and the words capture and playback
    (a2jmidid's, PipeWire's) are left out."""
    name = re.sub(r"\s+\d+:\d+$", "", port.removeprefix(VIRTUAL))
    name = name.rpartition(":")[2]
    name = re.sub(r"\(?\b(capture|playback)(_\d+)?\b\)?", "", name, flags=re.IGNORECASE)
    return " ".join(name.split()).lower()


def _key(midi: Any, name: str, direction: str) -> str:
    """What identifies the port ``name`` means: its full name, or ``virtual:NAME``."""
    if name.startswith(VIRTUAL):
        return name
    return resolve(name, port_names(midi)[0 if direction == "input" else 1], direction)


def _open(midi: Any, key: str, direction: str) -> Any:
    """Open one port by its key (``virtual:NAME`` creates one); ``MidiError`` saying why not."""
    opener = midi.open_input if direction == "input" else midi.open_output
    try:
        if key.startswith(VIRTUAL):
            name = key.removeprefix(VIRTUAL)
            return _patiently(midi, lambda: opener(name, virtual=True, client_name=CLIENT))
        return _patiently(midi, lambda: opener(key))
    except (OSError, ImportError, RuntimeError, NotImplementedError) as exc:
        raise MidiError(f"cannot open MIDI {direction} {key!r} ({exc})") from exc


# -- sharing ------------------------------------------------------------------------------------


class MidiTap(Protocol):
    """What listens on input ports (``foretell.io.midi.MidiSource``), called on the loop."""

    channels: frozenset[int] | None  # mido channels 0..15 it hears; None: all, and system messages

    def take(self, device: str, message: mido.Message) -> None:
        """One message from ``device`` (a batch is being drained)."""

    def flush(self) -> None:
        """The batch is over: deliver what it brought."""


def _close_input(port: Any, drain: bool) -> None:
    """Close a mido input with no Python callback registered while it closes (JACK_GIL): on
    rtmidi's object where mido's port has one (its ``_rt``), else through mido."""
    rt = getattr(port, "_rt", None)
    if rt is None or not hasattr(rt, "cancel_callback"):  # another backend: mido's own close
        port.close()
        return
    rt.cancel_callback()
    if drain:
        time.sleep(JACK_DRAIN)  # a callback under way ends before the port closes
    rt.close_port()
    rt.delete()
    port.closed = True  # mido's close() would register its wrapper again first: not called


@dataclass
class _Input:
    port: Any
    device: str
    taps: list[MidiTap] = field(default_factory=list)


class MidiPorts:
    """The MIDI ports of one run, each opened once (see the module docstring)."""

    def __init__(self, midi: Any | None = None, api: str | None = None) -> None:
        self._midi = midi
        self._api = api
        self._inputs: dict[str, _Input] = {}
        self._outputs: dict[str, tuple[Any, int]] = {}  # key -> (port, users)
        self._queue: deque[tuple[_Input, mido.Message]] = deque()
        self._wake_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def midi(self) -> Any:
        if self._midi is None:
            midi = backend(self._api)
            _check_system(midi)
            self._midi = midi
        return self._midi

    # -- outputs --------------------------------------------------------------------------------

    def open_output(self, name: str) -> tuple[str, Any]:
        """The (device, port) called ``name``, opened on its first use."""
        key = _key(self.midi, name, "output")
        port, users = self._outputs.get(key) or (_open(self.midi, key, "output"), 0)
        self._outputs[key] = (port, users + 1)
        return device_of(port.name or name), port

    def close_output(self, port: Any) -> None:
        """One user is done with ``port``; the last one closes it."""
        for key, (known, users) in list(self._outputs.items()):
            if known is port:
                if users > 1:
                    self._outputs[key] = (port, users - 1)
                    return
                del self._outputs[key]
                if api_of(self.midi) == "jack":
                    time.sleep(JACK_DRAIN)  # let JACK's next cycles take what was just sent
                with contextlib.suppress(OSError, ValueError, RuntimeError):
                    port.close()

    # -- inputs ---------------------------------------------------------------------------------

    def listen(self, name: str, tap: MidiTap) -> None:
        """Hand ``tap`` the messages of input ``name`` (opened on its first use)."""
        key = _key(self.midi, name, "input")
        entry = self._inputs.get(key)
        if entry is None:
            self._loop = asyncio.get_running_loop()
            port = _open(self.midi, key, "input")
            entry = _Input(port, device_of(port.name or name))
            port.callback = self._callback_for(entry)
            self._inputs[key] = entry
        entry.taps.append(tap)

    def unlisten(self, tap: MidiTap) -> None:
        """Stop handing ``tap`` messages; close the inputs no one listens to any more."""
        for key, entry in list(self._inputs.items()):
            entry.taps = [t for t in entry.taps if t is not tap]
            if not entry.taps:
                del self._inputs[key]
                with contextlib.suppress(OSError, RuntimeError):
                    _close_input(entry.port, drain=api_of(self.midi) == "jack")
        if not self._inputs:
            self._loop, self._wake_pending = None, False
            self._queue.clear()

    def _callback_for(self, entry: _Input) -> Callable[[mido.Message], None]:
        def callback(message: mido.Message) -> None:  # the backend's thread
            self._queue.append((entry, message))
            loop = self._loop
            if not self._wake_pending and loop is not None:
                self._wake_pending = True
                with contextlib.suppress(RuntimeError):  # a closed loop: the engine stopped
                    loop.call_soon_threadsafe(self._drain)

        return callback

    def _drain(self) -> None:
        """On the loop: every queued message, in order, to the taps that hear its channel."""
        self._wake_pending = False
        touched: dict[int, MidiTap] = {}
        while self._queue:
            entry, message = self._queue.popleft()
            channel = getattr(message, "channel", None)
            for tap in entry.taps:
                heard = tap.channels
                if heard is None or channel in heard:
                    tap.take(entry.device, message)
                    touched[id(tap)] = tap
        for tap in touched.values():
            tap.flush()
