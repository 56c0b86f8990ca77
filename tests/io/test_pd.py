"""The Pure Data patches of ``examples/pd/`` played against a real ``foretell run``, with Debian's
Pd headless (``pd -nogui -nosound``): the test performer in filter and call-and-response mode,
the bridge feeding the synth. What Pd printed is what it received over UDP."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from foretell.model.random import random_model_file
from tests.osc_peers import free_udp_port
from tests.waiting import wait_until

PD = shutil.which("pd")
PATCHES = Path(__file__).parents[2] / "examples" / "pd"
pytestmark = pytest.mark.skipif(
    PD is None, reason="Pure Data not installed (Debian: puredata-core); Pd patches untested"
)


@contextmanager
def foretell_run(tmp_path: Path, *options: str) -> Iterator[tuple[int, int, list[str]]]:
    """A ``foretell run`` on free ports: yields (in port, out port, its stderr lines, filled
    in once it has stopped), after its 'listening' line."""
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    port_in, port_out = free_udp_port(), free_udp_port()
    errors = tmp_path / "foretell.err"
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--seed", "1"]
    command += ["--osc-in", f"127.0.0.1:{port_in}", "--osc-out", f"127.0.0.1:{port_out}"]
    command += ["--no-log", *options]
    lines: list[str] = []
    with errors.open("w") as sink:
        run = subprocess.Popen(command, stderr=sink, stdout=subprocess.DEVNULL)
        try:
            wait_until(lambda: _printed(run, errors, "listening for OSC"), 60, "foretell run")
            yield port_in, port_out, lines
        finally:
            run.send_signal(signal.SIGINT)
            run.wait(30)
    lines.extend(errors.read_text().splitlines())
    assert run.returncode == 0, lines


def _printed(process: subprocess.Popen[bytes], log: Path, text: str) -> bool:
    """Whether ``process`` has written ``text`` to ``log``; fails at once if it has exited."""
    written = log.read_text()
    assert process.poll() is None, written
    return text in written


def pd(patches: list[str], send: str, timeout: float) -> list[str]:
    """Run Pd headless on ``patches`` with ``-send``; the lines it printed (until it quits)."""
    assert PD is not None
    command = [PD, "-nogui", "-nosound", "-nomidi", "-stderr", "-send", send]
    done = subprocess.run(
        [*command, *(str(PATCHES / p) for p in patches)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.stderr.splitlines()


def _values(lines: list[str], prefix: str) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in line.split()[1:]) for line in lines if line.startswith(prefix)]


def _summary(lines: list[str]) -> tuple[int, int, int]:
    """(inputs, answers, generated events) from foretell's stop line."""
    for line in lines:
        found = re.search(
            r"after (\d+) inputs and \d+ model events \((\d+) answering each input, (\d+)", line
        )
        if found:
            inputs, answers, generated = (int(g) for g in found.groups())
            return inputs, answers, generated
    raise AssertionError(f"no stop line in {lines}")


def test_the_test_performer_in_filter_mode(tmp_path: Path) -> None:
    with foretell_run(tmp_path, "--mode", "filter") as (port_in, port_out, stopped):
        printed = pd(["test-performer.pd"], f"foretell-test {port_in} {port_out} 8 80 1500", 60)
    sent, received = _values(printed, "sent:"), _values(printed, "received:")
    assert sent[:3] == [(0.0, 1.0, 0.0), (0.1, 0.9, 0.05), (0.2, 0.8, 0.1)] and len(sent) == 8
    assert len(received) == 8  # one answer per event, each back in Pd
    assert all(len(v) == 3 and all(0.0 <= x <= 1.0 for x in v) for v in received)
    assert _summary(stopped) == (8, 8, 0)


def test_the_test_performer_in_call_and_response(tmp_path: Path) -> None:
    options = ("--mode", "callresponse", "--threshold", "0.3", "--timescale", "0.3")
    with foretell_run(tmp_path, *options) as (port_in, port_out, stopped):
        printed = pd(["test-performer.pd"], f"foretell-test {port_in} {port_out} 5 50 3000", 60)
    kinds = [line.split(":")[0] for line in printed if line.startswith(("sent:", "received:"))]
    assert kinds[:5] == ["sent"] * 5  # the model waits while the performer plays ...
    assert kinds[5:] and set(kinds[5:]) == {"received"}  # ... and answers when it stops
    inputs, _, generated = _summary(stopped)
    assert inputs == 5 and generated >= len(kinds) - 5  # it went on after Pd quit


def test_the_bridge_plays_the_synth(tmp_path: Path) -> None:
    """The bridge sends the performer's three controls, the answer comes back to it and on to
    the synth, which turns x into a pitch (C3 + 36 semitones * x), y into a level and z into a
    decay time."""
    with foretell_run(tmp_path, "--mode", "filter") as (port_in, port_out, stopped):
        send = f"foretell-ports {port_in} {port_out}; foretell-verbose 1; "
        printed = _bridge(send + "foretell-controls 0.25 0.75 0.5", tmp_path / "pd.err")
    (answer,) = _values(printed, "foretell-bridge:")
    (played,) = [line for line in printed if line.startswith("foretell-synth:")]
    frequency, level, decay = (float(v) for v in played.split()[2::2])
    assert frequency == pytest.approx(440 * 2 ** ((48 + 36 * answer[0] - 69) / 12), rel=1e-4)
    assert level == pytest.approx(0.3 * answer[1], abs=1e-5)
    assert decay == pytest.approx(50 + 950 * answer[2], abs=1e-3)
    assert _summary(stopped)[:2] == (1, 1)


def _bridge(send: str, log: Path) -> list[str]:
    """Pd with the bridge and the synth, until the synth has played (or 20 s)."""
    assert PD is not None
    command = [PD, "-nogui", "-nosound", "-nomidi", "-stderr", "-send", send]
    command += [str(PATCHES / "foretell-bridge.pd"), str(PATCHES / "foretell-synth.pd")]
    with log.open("w") as sink:
        process = subprocess.Popen(command, stderr=sink)
        try:
            wait_until(lambda: _printed(process, log, "foretell-synth:"), 20, "the synth to play")
        finally:
            process.terminate()
            process.wait(10)
    return log.read_text().splitlines()
