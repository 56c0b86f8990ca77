"""``foretell ports`` through click's runner: the real machine, and a faked MIDI system."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from foretell.cli import cli
from foretell.errors import ForetellError
from foretell.io import midi


def test_ports_on_this_machine() -> None:
    result = CliRunner().invoke(cli, ["ports"])
    assert result.exit_code == 0, result.output
    assert "serial ports" in result.output
    assert "MIDI inputs" in result.output or "no MIDI backend is available" in result.output


def test_ports_lists_midi_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(midi, "port_names", lambda: (["X-TOUCH MINI 20:0"], []))
    result = CliRunner().invoke(cli, ["ports"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:4] == [
        "MIDI inputs (--midi-in, [midi] inputs):",
        "  X-TOUCH MINI 20:0",
        "MIDI outputs (--midi-out, [midi] outputs):",
        "  none",
    ]


def test_no_backend_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise midi.MidiError("no MIDI backend is available (test)")

    monkeypatch.setattr(midi, "port_names", missing)
    result = CliRunner().invoke(cli, ["ports"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "MIDI: no MIDI backend is available (test)"
    assert issubclass(midi.MidiError, ForetellError)
