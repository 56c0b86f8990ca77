"""``foretell ports``: the MIDI and serial ports this machine offers, by the names config uses.

Also the transport switches of ``foretell run``: ``--ws``, ``--serial``, ``--midi-in/-out``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from foretell.config import RunConfig, override
from foretell.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def _midi_lines(api: str | None) -> list[str]:
    from foretell.io.midi_ports import MidiError, api_of, backend, port_names

    lines = []
    try:
        midi = backend(api)
        lines.append(f"MIDI API (--midi-api, [midi] api): {api_of(midi)}")
        inputs, outputs = port_names(midi)
    except MidiError as exc:
        return [*lines, f"MIDI: {exc}"]
    lines.append("MIDI inputs (--midi-in, [midi] inputs):")
    lines += [f"  {name}" for name in inputs] or ["  none"]
    lines.append("MIDI outputs (--midi-out, [midi] outputs):")
    lines += [f"  {name}" for name in outputs] or ["  none"]
    return lines


def _serial_lines() -> list[str]:
    from serial.tools import list_ports

    lines = ["serial ports (--serial, [serial] port):"]
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        about = port.description if port.description not in (None, "n/a") else ""
        lines.append(f"  {port.device}" + (f"  ({about})" if about else ""))
    return lines if len(lines) > 1 else [*lines, "  none"]


MIDI_API_HELP = (
    "MIDI system: alsa|jack|coremidi|winmm (PipeWire: jack under pw-jack). "
    "Default: ALSA where /dev/snd/seq exists, else JACK when a server answers."
)


def midi_api_option(command: F) -> F:
    from foretell.config.transports import MIDI_APIS

    return click.option("--midi-api", type=click.Choice(MIDI_APIS), help=MIDI_API_HELP)(command)


@click.command()
@midi_api_option
def ports(midi_api: str | None) -> None:
    """List MIDI inputs and outputs and serial ports (virtual MIDI ports: NAME 'virtual:NAME')."""
    for line in [*_midi_lines(midi_api), *_serial_lines()]:
        click.echo(line)


# -- the transport switches of ``foretell run`` -------------------------------------------------


def transport_options(command: F) -> F:
    """Add ``--ws``, ``--serial``, ``--midi-in``, ``--midi-out`` and ``--midi-api`` to a command."""
    options = [
        click.option("--ws", metavar="PORT|HOST:PORT", help="Serve WebSocket JSON (127.0.0.1)."),
        click.option(
            "--serial", metavar="DEVICE[:BAUD]", help="A serial device (default 115200 baud)."
        ),
        click.option(
            "--midi-in",
            multiple=True,
            metavar="NAME",
            help="MIDI input port (repeatable; see 'foretell ports'; 'virtual:NAME').",
        ),
        click.option(
            "--midi-out",
            multiple=True,
            metavar="NAME",
            help="MIDI output port (repeatable; 'virtual:NAME' creates one).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return midi_api_option(command)


def apply_transport_flags(
    config: RunConfig,
    ws: str | None,
    serial: str | None,
    midi_in: tuple[str, ...],
    midi_out: tuple[str, ...],
    midi_api: str | None = None,
) -> RunConfig:
    """``config`` with the transport switches applied over its sections."""
    if ws:
        host, _, port = ws.rpartition(":")
        if not port.isdigit():
            raise ConfigError(f"--ws {ws!r} is not PORT or HOST:PORT")
        config = override(config, "websocket", host=host or None, port=int(port))
    if serial:
        device, _, baud = serial.rpartition(":")
        if device and baud.isdigit():
            config = override(config, "serial", port=device, baud=int(baud))
        else:
            config = override(config, "serial", port=serial)
    return override(config, "midi", inputs=midi_in or None, outputs=midi_out or None, api=midi_api)
