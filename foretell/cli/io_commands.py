"""``foretell ports``: the MIDI and serial ports this machine offers, by the names config uses.

Also the transport switches of ``foretell run`` and ``foretell studio``, each transport's from
its entry in ``foretell.config.transports.TRANSPORTS`` (``--ws``, ``--serial``, ``--midi-in``,
``--midi-out``, ``--midi-api``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from foretell.config import RunConfig, override
from foretell.config.transports import TRANSPORT_FLAGS, TRANSPORTS, Flag

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


def _option(flag: Flag) -> Callable[[F], F]:
    """The click option of a transport's switch."""
    kind = click.Choice(flag.choices) if flag.choices else None
    return click.option(
        flag.option,
        flag.dest,
        multiple=flag.multiple,
        metavar=flag.metavar or None,
        type=kind,
        help=flag.help,
    )


def midi_api_option(command: F) -> F:
    (api,) = [flag for flag in TRANSPORT_FLAGS if flag.option == "--midi-api"]
    return _option(api)(command)


@click.command()
@midi_api_option
def ports(midi_api: str | None) -> None:
    """List MIDI inputs and outputs and serial ports (virtual MIDI ports: NAME 'virtual:NAME')."""
    for line in [*_midi_lines(midi_api), *_serial_lines()]:
        click.echo(line)


# -- the transport switches of ``foretell run`` -------------------------------------------------


def transport_options(command: F) -> F:
    """Add every transport's switches to a command (their values: ``apply_transport_flags``)."""
    for flag in reversed(TRANSPORT_FLAGS):
        command = _option(flag)(command)
    return command


def apply_transport_flags(config: RunConfig, values: Mapping[str, Any]) -> RunConfig:
    """``config`` with the transport switches' ``values`` (by ``Flag.dest``) applied over its
    sections."""
    for kind in TRANSPORTS.values():
        config = override(config, kind.kind, **kind.from_flags(values))
    return config


def transport_flags(options: dict[str, Any]) -> dict[str, Any]:
    """Take the transport switches' values out of a command's ``options``."""
    return {flag.dest: options.pop(flag.dest) for flag in TRANSPORT_FLAGS}
