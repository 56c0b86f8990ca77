"""``foretell ports``: the MIDI and serial ports this machine offers, by the names config uses."""

from __future__ import annotations

import click


def _midi_lines() -> list[str]:
    from foretell.io.midi import MidiError, port_names

    try:
        inputs, outputs = port_names()
    except MidiError as exc:
        return [f"MIDI: {exc}"]
    lines = ["MIDI inputs (--midi-in, [midi] inputs):"]
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


@click.command()
def ports() -> None:
    """List MIDI inputs and outputs and serial ports (virtual MIDI ports: NAME 'virtual:NAME')."""
    for line in [*_midi_lines(), *_serial_lines()]:
        click.echo(line)


COMMANDS = [ports]
