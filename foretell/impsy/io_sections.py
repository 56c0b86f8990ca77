"""IMPSY's ``[midi]``, ``[websocket]``, ``[serial]`` and ``[serialmidi]`` -> foretell's transport
sections, with IMPSY's semantics (``[midi] dialect = "impsy"``, ``[websocket] protocol =
"impsy"``, ``[serial] protocol = "midi"``).

=======================================  =========================================================
IMPSY                                    foretell
=======================================  =========================================================
``[midi] in_device``, ``out_device``     ``midi.inputs``, ``midi.outputs`` (a unique part of a
                                         port name is enough, as in IMPSY)
``[midi] input."PORT"``,                 ``[[midi.map]]`` with ``port`` and ``direction``;
``output."PORT"``                        entry i is control i: ``["note_on", ch]`` -> ``note``
                                         (``["note_on", ch, vel]``: with ``velocity``),
                                         ``["note_velocity", ch]`` -> ``velocity``,
                                         ``["pitch_bend", ch]`` -> ``pitchwheel``,
                                         ``["control_change", ch, cc]`` -> ``cc``,
                                         ``[..., min, max]`` -> ``low``/``high`` (both ways)
``[midi] feedback_protection``,          ``midi.feedback_guard`` (IMPSY's default: off),
``feedback_threshold``                   ``midi.echo_window`` (IMPSY's default 0.02 s)
``[midi] thru_matrix."IN" = [OUT..]``    ``[[midi.route]]`` input IN, outputs [OUT..]
``[websocket] server_ip, server_port``   ``websocket.host``, ``websocket.port``
``[websocket] input``, ``output``        ``protocol = "impsy"`` and ``[[websocket.map]]``
                                         (without maps: foretell's JSON protocol)
``[serial] port``, ``baudrate``          ``serial.port``, ``serial.baud`` (CSV lines, 4 decimals)
``[serialmidi] port``, ``input``,        ``serial.protocol = "midi"`` at 31250 baud and
``output``                               ``[[serial.map]]`` (IMPSY reads [serial]'s port for
                                         it, so beside a ``[serial]`` it is named unused)
=======================================  =========================================================

Each function returns foretell's section as a dict (for ``config_from_dict``) and the IMPSY keys
it could not use. A malformed entry is one ``ConfigError`` naming the IMPSY key.
"""

from __future__ import annotations

from typing import Any

from foretell.errors import ConfigError

IMPSY_FEEDBACK_THRESHOLD = 0.02  # seconds (impsio.MIDIServer's default)
IMPSY_SERIAL_MIDI_BAUD = 31250  # impsio.SerialMIDIServer: the MIDI baud rate
ENTRY_FORMS = (
    '["note_on", channel], ["note_on", channel, velocity], ["note_velocity", channel], '
    '["pitch_bend", channel], ["control_change", channel, controller] or [..., min, max]'
)
SINGLE_TYPES = {"note_on": "note", "note_velocity": "velocity", "pitch_bend": "pitchwheel"}

Section = dict[str, Any]


def _names(value: Any, key: str) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{key} = {value!r} is invalid (expected a list of port names)")
    return names


def _int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def entry_map(entry: Any, control: int, key: str, direction: str) -> Section:
    """One IMPSY 1.0 map entry as a foretell map table (``ConfigError`` naming ``key``)."""
    ok = isinstance(entry, list) and len(entry) >= 2 and _int(entry[1], 1, 16)
    kind = entry[0] if ok else None
    table: Section = {"control": control, "channel": entry[1] if ok else 0}
    if kind in SINGLE_TYPES and len(entry) == 2:
        table["type"] = SINGLE_TYPES[kind]
    elif kind == "note_on" and len(entry) == 3 and _int(entry[2], 0, 127):
        table.update(type="note", velocity=entry[2])  # a fixed velocity: output only
    elif kind == "control_change" and len(entry) in (3, 5):
        ok = all(_int(v, 0, 127) for v in entry[2:]) and (len(entry) == 3 or entry[3] != entry[4])
        table.update(type="cc", number=entry[2] if ok else 0)
        if len(entry) == 5:
            table.update(low=entry[3], high=entry[4])  # scaled back to [0, 1] on input
    else:
        ok = False
    if not ok:
        raise ConfigError(f"{key} = {entry!r} is invalid (expected {ENTRY_FORMS})")
    table["direction"] = direction
    return table


def entry_maps(
    entries: Any, key: str, direction: str, controls: int | None, port: str | None = None
) -> tuple[list[Section], list[str]]:
    """A list of IMPSY entries (entry i is control i) as map tables; entries past the model's
    controls (IMPSY never plays them) are named unused."""
    if not isinstance(entries, list):
        raise ConfigError(f"{key} = {entries!r} is invalid (expected a list of [type, ...])")
    tables, unused = [], []
    for control, entry in enumerate(entries):
        table = entry_map(entry, control, f"{key}[{control}]", direction)
        if controls is not None and control >= controls:
            unused.append(f"{key}[{control}] (the model has {controls} controls)")
        else:
            tables.append(table if port is None else {**table, "port": port})
    return tables, unused


def _port_maps(
    value: Any, key: str, direction: str, controls: int | None
) -> tuple[list[Section], list[str]]:
    """``input."PORT" = [...]`` tables (or one list for every port, IMPSY 1.0's form)."""
    if isinstance(value, list):
        return entry_maps(value, key, direction, controls)
    if not isinstance(value, dict):
        raise ConfigError(f"{key} = {value!r} is invalid (expected PORT = [entries] tables)")
    tables, unused = [], []
    for port, entries in value.items():
        found, skipped = entry_maps(entries, f'{key}."{port}"', direction, controls, port)
        tables += found
        unused += skipped
    return tables, unused


def midi_section(table: dict[str, Any], controls: int | None) -> tuple[Section, list[str]]:
    """IMPSY's ``[midi]`` as foretell's ``[midi]`` with ``dialect = "impsy"``."""
    midi: Section = {
        "dialect": "impsy",
        "feedback_guard": False,
        "echo_window": IMPSY_FEEDBACK_THRESHOLD,
    }
    maps: list[Section] = []
    unused: list[str] = []
    for key, value in table.items():
        where = f"midi.{key}"
        if key == "in_device":
            midi["inputs"] = _names(value, where)
        elif key == "out_device":
            midi["outputs"] = _names(value, where)
        elif key in ("input", "output"):
            found, skipped = _port_maps(value, where, "in" if key == "input" else "out", controls)
            maps += found
            unused += skipped
        elif key == "feedback_protection":
            midi["feedback_guard"] = value
        elif key == "feedback_threshold":
            midi["echo_window"] = value
        elif key == "thru_matrix":
            midi["route"] = _routes(value, where)
        else:
            unused.append(where)
    midi["map"] = maps
    return midi, unused


def _routes(value: Any, key: str) -> list[Section]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} = {value!r} is invalid (expected INPUT = [outputs] tables)")
    return [
        {"input": port, "outputs": _names(outputs, f'{key}."{port}"')}
        for port, outputs in value.items()
    ]


def websocket_section(table: dict[str, Any], controls: int | None) -> tuple[Section, list[str]]:
    """IMPSY's ``[websocket]``: its text protocol where it has maps."""
    section: Section = {}
    maps: list[Section] = []
    unused: list[str] = []
    for key, value in table.items():
        if key == "server_ip":
            section["host"] = value
        elif key == "server_port":
            section["port"] = value
        elif key in ("input", "output"):
            direction = "in" if key == "input" else "out"
            found, skipped = entry_maps(value, f"websocket.{key}", direction, controls)
            maps += found
            unused += skipped
        else:
            unused.append(f"websocket.{key}")
    if "input" in table or "output" in table:
        section.update(protocol="impsy", map=maps)
    return section, unused


def serial_sections(
    serial: dict[str, Any] | None, serialmidi: dict[str, Any] | None, controls: int | None
) -> tuple[Section, list[str]]:
    """IMPSY's ``[serial]`` (CSV lines) and ``[serialmidi]`` (raw MIDI bytes) onto foretell's
    one ``[serial]``: IMPSY opens ``[serial]``'s port for both, so with both, CSV is kept."""
    unused: list[str] = []
    if serial is not None:
        section: Section = {}
        for key, value in serial.items():
            if key == "port":
                section["port"] = value
            elif key == "baudrate":
                section["baud"] = value
            else:
                unused.append(f"serial.{key}")
        if serialmidi is not None:
            unused.append("serialmidi (IMPSY sends it on [serial]'s device, which speaks CSV)")
        return section, unused
    assert serialmidi is not None
    section = {"protocol": "midi", "baud": IMPSY_SERIAL_MIDI_BAUD}
    maps: list[Section] = []
    for key, value in serialmidi.items():
        if key == "port":
            section["port"] = value
        elif key in ("input", "output"):
            direction = "in" if key == "input" else "out"
            found, skipped = entry_maps(value, f"serialmidi.{key}", direction, controls)
            maps += found
            unused += skipped
        else:
            unused.append(f"serialmidi.{key}")
    section["map"] = maps
    return section, unused
