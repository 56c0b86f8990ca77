"""``foretell run --controls N`` beside ``--dimension``, errors naming the flag the user typed,
and a stop line that names what the model played in every mode (a real process over OSC)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pythonosc.udp_client import SimpleUDPClient

from foretell.cli import cli
from foretell.cli.run_commands import dimension_of
from foretell.model.random import random_model_file
from tests.osc_peers import udp_peer

FORETELL = [sys.executable, "-m", "foretell", "run", "--osc-in", "127.0.0.1:0"]


def test_controls_is_one_less_than_the_dimension() -> None:
    assert dimension_of(3, None) == dimension_of(None, 4) == dimension_of(3, 4) == 4
    assert dimension_of(None, None) is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--controls", "0"], "Invalid value for '--controls': 0 is not in the range 1<=x<=1023"),
        (["--dimension", "1"], "Invalid value for '--dimension': 1 is not in the range 2<=x"),
        (["--controls", "3", "--dimension", "5"], "--controls 3 and --dimension 5 disagree"),
    ],
)
def test_a_bad_size_names_the_flag_typed(flags: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["run", "--no-log", *flags])
    assert result.exit_code == 2
    assert message in result.output and "interaction.dimension" not in result.output


def _stopped(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0, rest
    (line,) = [line for line in rest.splitlines() if "stopped after" in line]
    return line


def test_controls_sizes_the_log_without_a_model(tmp_path: Path) -> None:
    command = [*FORETELL, "--controls", "3", "--log-dir", str(tmp_path)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "listening for OSC" in process.stderr.readline()
    _stopped(process)
    assert len(list(tmp_path.glob("*-4d-mdrnn.log"))) == 1  # 3 controls + time


def test_the_stop_line_counts_model_events_in_call_and_response(tmp_path: Path) -> None:
    """Call-and-response answers nothing input by input: the model plays once the performer
    stops, and the stop line says how much (it said '0 answers' before)."""
    model = random_model_file(tmp_path / "m.ftm", dimension=3)
    out = udp_peer(timeout=10)
    command = [*FORETELL, "--model", str(model), "--mode", "callresponse", "--no-log"]
    command += ["--threshold", "0.2", "--timescale", "0.2", "--seed", "1"]
    command += ["--osc-out", f"127.0.0.1:{out.getsockname()[1]}"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    first = process.stderr.readline()
    port = int(re.search(r"listening for OSC on 127\.0\.0\.1:(\d+)", first).group(1))  # type: ignore[union-attr]
    performer = SimpleUDPClient("127.0.0.1", port)
    for i in range(4):
        performer.send_message("/interface", [i / 4, 0.5])
    out.recv(65536)  # the performer stopped: the model plays
    line = _stopped(process)
    out.close()
    found = re.search(
        r"after 4 inputs and (\d+) model events \(0 answering each input, (\d+) in its own time",
        line,
    )
    assert found, line
    assert int(found.group(1)) == int(found.group(2)) > 0
