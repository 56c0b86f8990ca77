"""The config sections of the MIDI, serial and WebSocket transports: frozen dataclasses.

``foretell.config`` reads them from TOML like every other section (unknown keys are errors); each
section is off until it names something to open. Schema, with the defaults::

    [midi]
    api = "jack"                   # alsa|jack|coremidi|winmm; omit: ALSA where /dev/snd/seq
                                   # exists, else JACK (PipeWire's too) when a server answers
    inputs = []                    # port names (a unique part of a name is enough);
    outputs = []                   # "virtual:NAME" creates a virtual port where the backend can
    thru = false                   # forward every input message to the outputs as it came
    note_off = true                # false: ignore note-off (and note-on velocity 0), like IMPSY
    mpe = false                    # MPE: follow the newest note's member channel (in), one
                                   # member channel per note (out)
    feedback_guard = true          # drop a note, CC or pitch bend that repeats what was just
    echo_window = 0.02             # sent to that device, within this many seconds (IMPSY
                                   # dialect: only the last note sent; see foretell.io.midi)
    initial = 0.5                  # value of a control no message has set yet
    channel = 1                    # 1..16: read and write only this channel (maps that name no
                                   # channel use it); omit: every channel, as the maps say.
                                   # Instruments of an ensemble may share a port, a channel each
    dialect = "foretell"           # "impsy": IMPSY 1.0's MIDI semantics (foretell.io.midi_impsy)
    velocity = 127                 # dialect "impsy": the velocity of note-ons whose map and
                                   # channel give none

    [[midi.route]]                 # dialect "impsy": values read from this input port are also
    input = "QuNeo"                # played on these output ports, through their own maps
    outputs = ["S-1"]              # (IMPSY's thru_matrix)

    [[midi.map]]                   # one table per control; none: control i is CC 1+i
    control = 0                    # index into the control values (0 = the first control)
    type = "cc"                    # cc|cc14|note|velocity|pitchwheel|aftertouch|polytouch
    channel = 1                    # 1..16; omit: any channel in, channel 1 out
    number = 74                    # cc: controller; cc14: MSB controller 0..31; polytouch: note
    low = 0                        # raw MIDI range mapped onto [0, 1] (default: the full range)
    high = 127
    port = "S-1"                   # only messages of this input or output port (omit: all)
    direction = "both"             # in|out|both: a map for reading, for playing, or both
    velocity = 100                 # a note map: its note-ons' velocity (clamped to 1..127;
                                   # a velocity map wins); omit: 100 (dialect "impsy": 127)

    [serial]
    port = "/dev/ttyACM0"          # omit: no serial transport
    baud = 115200
    scale = 1.0                    # 1023: values are integers 0..1023 (a 10-bit ADC)
    send = true                    # also write the model's events back
    reconnect = 0.5                # seconds between attempts to reopen a vanished device
    protocol = "lines"             # "midi": raw MIDI bytes (IMPSY's [serialmidi]), mapped by
                                   # [[serial.map]] tables as [[midi.map]] with dialect "impsy"
                                   # (foretell.io.serial_midi); scale is then unused

    [websocket]
    port = 8765                    # omit: no WebSocket server
    host = "127.0.0.1"
    buffer = 65536                 # bytes waiting for one client before its messages drop
    stall_timeout = 2.0            # seconds a client may stay full before it is disconnected
    max_clients = 32
    protocol = "json"              # "impsy": IMPSY's text messages /channel/{ch}/noteon/{note}/
                                   # {vel}, .../noteoff/..., .../cc/{ctrl}/{val} (channels 1..16),
                                   # mapped by [[websocket.map]] tables (as [[midi.map]], dialect
                                   # "impsy"; foretell.io.websocket_impsy)

Every transport is one entry of ``TRANSPORTS`` (kind -> ``TransportKind``): its section class,
what it connects, the function that builds its parts (``foretell.io.transports``, imported when
the section is on), its command-line switches and what two instruments may not share. A run's
and an instrument's section of each kind (``RunConfig.KIND``, ``InstrumentConfig.KIND``), the
switches of ``foretell run`` and ``foretell studio``, the checks across instruments and the
build all come from it.

This module only describes; it opens nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from foretell.errors import ConfigError

MIDI_APIS = ("alsa", "jack", "coremidi", "winmm")
MidiType = Literal["cc", "cc14", "note", "velocity", "pitchwheel", "aftertouch", "polytouch"]
MidiDirection = Literal["both", "in", "out"]
MidiDialect = Literal["foretell", "impsy"]

# The raw range of each message type (what [0, 1] maps onto by default).
MIDI_RANGES: dict[str, tuple[int, int]] = {
    "cc": (0, 127),
    "cc14": (0, 16383),
    "note": (0, 127),
    "velocity": (0, 127),
    "pitchwheel": (-8192, 8191),
    "aftertouch": (0, 127),
    "polytouch": (0, 127),
}


def _require(ok: bool, key: str, value: object, valid: str) -> None:
    if not ok:
        raise ConfigError(f"{key} = {value!r} is invalid (expected {valid})")


@dataclass(frozen=True)
class MidiMap:
    """One control <-> one kind of MIDI message (see the module docstring)."""

    control: int
    type: MidiType = "cc"
    channel: int | None = None
    number: int | None = None
    low: int | None = None
    high: int | None = None
    port: str | None = None
    direction: MidiDirection = "both"
    velocity: int | None = None

    def __post_init__(self) -> None:
        ok = self.velocity is None or (self.type == "note" and 0 <= self.velocity <= 127)
        _require(ok, "midi.map.velocity", self.velocity, "a velocity 0..127 on a note map")
        ok = self.direction in ("both", "in", "out")
        _require(ok, "midi.map.direction", self.direction, "in, out or both")
        _require(self.control >= 0, "midi.map.control", self.control, "an index >= 0")
        _require(self.type in MIDI_RANGES, "midi.map.type", self.type, "a MIDI message type")
        ok = self.channel is None or 1 <= self.channel <= 16
        _require(ok, "midi.map.channel", self.channel, "a channel 1..16")
        top = 31 if self.type == "cc14" else 127
        ok = self.number is None or 0 <= self.number <= top
        _require(ok, "midi.map.number", self.number, f"a number 0..{top}")
        if self.type in ("cc", "cc14"):
            _require(self.number is not None, "midi.map.number", None, "a controller number")
        full_low, full_high = MIDI_RANGES[self.type]
        low, high = self.span
        ok = full_low <= low <= full_high and full_low <= high <= full_high and low != high
        valid = f"two different values in {full_low}..{full_high}"
        _require(ok, "midi.map.low/high", (low, high), valid)

    @property
    def span(self) -> tuple[int, int]:
        """The raw (low, high) that 0 and 1 map to."""
        full_low, full_high = MIDI_RANGES[self.type]
        return (
            full_low if self.low is None else self.low,
            full_high if self.high is None else self.high,
        )

    def serves(self, port: str, direction: str) -> bool:
        """Whether this map reads (``"in"``) or plays (``"out"``) on ``port`` (a config name)."""
        return self.direction in ("both", direction) and self.port in (None, port)


@dataclass(frozen=True)
class MidiRoute:
    """Values read from ``input`` are also played on ``outputs`` (dialect ``impsy``)."""

    input: str
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MidiConfig:
    api: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    map: tuple[MidiMap, ...] = ()
    thru: bool = False
    note_off: bool = True
    mpe: bool = False
    feedback_guard: bool = True
    echo_window: float = 0.02
    initial: float = 0.5
    channel: int | None = None
    dialect: MidiDialect = "foretell"
    velocity: int = 127
    route: tuple[MidiRoute, ...] = ()

    def __post_init__(self) -> None:
        ok = self.dialect in ("foretell", "impsy")
        _require(ok, "midi.dialect", self.dialect, "foretell or impsy")
        _require(1 <= self.velocity <= 127, "midi.velocity", self.velocity, "a velocity 1..127")
        ok = self.api is None or self.api in MIDI_APIS
        _require(ok, "midi.api", self.api, "|".join(MIDI_APIS))
        _require(self.echo_window >= 0, "midi.echo_window", self.echo_window, "seconds >= 0")
        _require(0 <= self.initial <= 1, "midi.initial", self.initial, "a value in [0, 1]")
        ok = self.channel is None or 1 <= self.channel <= 16
        _require(ok, "midi.channel", self.channel, "a channel 1..16")
        ok = self.channel is None or not self.mpe
        _require(ok, "midi.channel", self.channel, "no channel with mpe = true: MPE uses them all")

    @property
    def enabled(self) -> bool:
        return bool(self.inputs or self.outputs)


@dataclass(frozen=True)
class SerialConfig:
    port: str | None = None
    baud: int = 115200
    scale: float = 1.0
    send: bool = True
    reconnect: float = 0.5
    protocol: Literal["lines", "midi"] = "lines"
    map: tuple[MidiMap, ...] = ()
    velocity: int = 127

    def __post_init__(self) -> None:
        ok = self.protocol in ("lines", "midi")
        _require(ok, "serial.protocol", self.protocol, "lines or midi")
        _require(self.baud > 0, "serial.baud", self.baud, "a baud rate > 0")
        _require(self.scale > 0, "serial.scale", self.scale, "a number > 0 (e.g. 1023)")
        _require(self.reconnect > 0, "serial.reconnect", self.reconnect, "seconds > 0")

    @property
    def enabled(self) -> bool:
        return self.port is not None


@dataclass(frozen=True)
class WebSocketConfig:
    port: int | None = None
    host: str = "127.0.0.1"
    buffer: int = 65536
    stall_timeout: float = 2.0
    max_clients: int = 32
    protocol: Literal["json", "impsy"] = "json"
    map: tuple[MidiMap, ...] = ()
    velocity: int = 127
    allowed_origins: tuple[str, ...] = ()  # web pages that may connect ("*": any); none: scripts
    allowed_hosts: tuple[str, ...] = ()  # names it answers to besides its address and localhost

    def __post_init__(self) -> None:
        ok = self.protocol in ("json", "impsy")
        _require(ok, "websocket.protocol", self.protocol, "json or impsy")
        ok = self.port is None or 0 <= self.port <= 65535
        _require(ok, "websocket.port", self.port, "a port number 0..65535")
        _require(self.buffer > 0, "websocket.buffer", self.buffer, "bytes > 0")
        _require(self.stall_timeout > 0, "websocket.stall_timeout", self.stall_timeout, "> 0")
        _require(self.max_clients > 0, "websocket.max_clients", self.max_clients, "> 0")

    @property
    def enabled(self) -> bool:
        return self.port is not None


# -- the registry -------------------------------------------------------------------------------


class Section(Protocol):
    """What every transport section offers: whether it names something to open."""

    @property
    def enabled(self) -> bool: ...


@dataclass(frozen=True)
class Flag:
    """One command-line switch of a transport (``foretell run``, ``foretell studio``)."""

    option: str  # "--serial"
    metavar: str  # "": click's own (the choices)
    help: str
    multiple: bool = False
    choices: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        """The name its value goes by: ``--midi-in`` -> ``midi_in``."""
        return self.option.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class TransportKind:
    """One transport: its ``[KIND]`` section, how it is built and switched on from the
    command line (``from_flags``: the switches' values by ``dest`` -> the section's keys),
    and ``shares``: what of a section two instruments may not both use, as a key and the way
    to name it (``None``: nothing to check)."""

    kind: str
    section: type
    about: str
    builder: str  # "module:function" (see foretell.io.transports.build_transports)
    flags: tuple[Flag, ...] = ()
    from_flags: Callable[[Mapping[str, Any]], dict[str, Any]] = lambda _: {}
    shares: Callable[[Any], tuple[object, str] | None] = lambda _: None


def _websocket_flags(values: Mapping[str, Any]) -> dict[str, Any]:
    text = values.get("ws")
    if not text:
        return {}
    host, _, port = text.rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"--ws {text!r} is not PORT or HOST:PORT")
    return {"host": host or None, "port": int(port)}


def _serial_flags(values: Mapping[str, Any]) -> dict[str, Any]:
    text = values.get("serial")
    if not text:
        return {}
    device, _, baud = text.rpartition(":")
    return {"port": device, "baud": int(baud)} if device and baud.isdigit() else {"port": text}


def _midi_flags(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "inputs": values.get("midi_in") or None,
        "outputs": values.get("midi_out") or None,
        "api": values.get("midi_api"),
    }


MIDI_API_HELP = (
    "MIDI system: alsa|jack|coremidi|winmm (PipeWire: jack under pw-jack). "
    "Default: ALSA where /dev/snd/seq exists, else JACK when a server answers."
)

# In the order they are built (and described when a run starts).
TRANSPORTS: dict[str, TransportKind] = {
    kind.kind: kind
    for kind in (
        TransportKind(
            "websocket",
            WebSocketConfig,
            "WebSocket JSON (or IMPSY's text) for web pages and scripts",
            "foretell.io.transports:websocket_parts",
            (Flag("--ws", "PORT|HOST:PORT", "Serve WebSocket JSON (127.0.0.1)."),),
            _websocket_flags,
            lambda s: ((s.host, s.port), str(s.port)) if s.port else None,
        ),
        TransportKind(
            "serial",
            SerialConfig,
            "a serial device (Arduino, Teensy): lines of values, or raw MIDI bytes",
            "foretell.io.transports:serial_parts",
            (Flag("--serial", "DEVICE[:BAUD]", "A serial device (default 115200 baud)."),),
            _serial_flags,
            lambda s: (s.port, s.port) if s.port else None,
        ),
        TransportKind(
            "midi",
            MidiConfig,
            "MIDI ports (ALSA, JACK, CoreMIDI, Windows)",
            "foretell.io.transports:midi_parts",
            (
                Flag(
                    "--midi-in",
                    "NAME",
                    "MIDI input port (repeatable; see 'foretell ports'; 'virtual:NAME').",
                    multiple=True,
                ),
                Flag(
                    "--midi-out",
                    "NAME",
                    "MIDI output port (repeatable; 'virtual:NAME' creates one).",
                    multiple=True,
                ),
                Flag("--midi-api", "", MIDI_API_HELP, choices=MIDI_APIS),
            ),
            _midi_flags,
        ),
    )
}
TRANSPORT_FLAGS = tuple(flag for kind in TRANSPORTS.values() for flag in kind.flags)


def transport_kind(section: object) -> TransportKind:
    """The registry entry of a section, by its class."""
    for kind in TRANSPORTS.values():
        if type(section) is kind.section:
            return kind
    raise TypeError(f"{section!r} is not a transport section")
