"""``foretell ports`` through click's runner: the real machine, a dummy JACK server with a
performer's port on it, and no server at all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from foretell.cli import cli
from tests.jack import JackServer

FORETELL = [sys.executable, "-m", "foretell"]


def test_ports_on_this_machine() -> None:
    result = CliRunner().invoke(cli, ["ports"])
    assert result.exit_code == 0, result.output
    assert "serial ports" in result.output
    assert "MIDI inputs" in result.output or "no MIDI backend is available" in result.output


def test_ports_lists_jack_ports_and_the_api(jack_server: JackServer) -> None:
    jack_server.output("keystep")
    result = CliRunner().invoke(cli, ["ports", "--midi-api", "jack"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == [
        "MIDI API (--midi-api, [midi] api): jack",
        "MIDI inputs (--midi-in, [midi] inputs):",
        "  keystep:keystep",
    ]


@pytest.mark.skipif(os.path.exists("/dev/snd/seq"), reason="ALSA is the default where it exists")
def test_jack_is_the_default_without_alsa(
    jack_server: JackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIDO_BACKEND")
    result = CliRunner().invoke(cli, ["ports"])
    assert result.output.splitlines()[0] == "MIDI API (--midi-api, [midi] api): jack"


def _without_jack() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MIDO_BACKEND"}
    return {**env, "JACK_DEFAULT_SERVER": "foretell-no-such-server", "JACK_NO_START_SERVER": "1"}


def test_no_jack_server_is_one_line() -> None:
    done = subprocess.run(
        [*FORETELL, "ports", "--midi-api", "jack"],
        env=_without_jack(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "MIDI API (--midi-api, [midi] api): jack",
        "MIDI: no MIDI backend is available (no JACK server is running; start one (jackd -d alsa) "
        "or run under PipeWire with pw-jack); MIDI ports cannot be used",
    ]
    assert done.stderr == ""  # libjack's own complaints are kept off the terminal


def test_run_without_a_jack_server_is_one_line() -> None:
    done = subprocess.run(
        [*FORETELL, "run", "--midi-api=jack", "--midi-in", "k", "--dimension", "3", "--no-log"],
        env=_without_jack(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "no JACK server" in line]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_api_names_the_choices() -> None:
    result = CliRunner().invoke(cli, ["ports", "--midi-api", "oss"])
    assert result.exit_code == 2
    assert "'oss' is not one of 'alsa', 'jack', 'coremidi', 'winmm'" in result.output
