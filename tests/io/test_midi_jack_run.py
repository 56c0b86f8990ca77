"""``foretell run`` as a user starts it, on a dummy JACK server: a performer's keyboard port in,
foretell's virtual port out to a synth's port, in filter mode; the keyboard's connection is
cut with jack_disconnect and restored with jack_connect while the run goes on."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import mido

from foretell.model.random import random_model_file
from tests.jack import JackServer

M = mido.Message


def _answer(synth: Any, timeout: float = 5.0) -> list[mido.Message]:
    """The messages of the next answer that reach the synth's port (two CCs, one per control)."""
    got: list[mido.Message] = []
    end = time.monotonic() + timeout
    while len(got) < 2 and time.monotonic() < end:
        got.extend(synth.iter_pending())
        time.sleep(0.01)
    return got


def test_a_run_over_jack_survives_a_lost_connection(
    jack_server: JackServer, tmp_path: Path
) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=3)
    keys, synth = jack_server.output("runkeys"), jack_server.input("runsynth")
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--mode", "filter"]
    command += ["--midi-in", "runkeys", "--midi-out", "virtual:run-out", "--no-log", "--seed", "1"]
    command += ["--osc-in", "127.0.0.1:0", "--osc-out", "127.0.0.1:9", "--timescale", "0.1"]
    run = subprocess.Popen(
        command, env=jack_server.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        ours = jack_server.wait_for_port("foretell:run-out", timeout=30)
        jack_server.connect(ours, "runsynth:runsynth")
        end = time.monotonic() + 10
        while not jack_server.connected("runkeys:runkeys") and time.monotonic() < end:
            time.sleep(0.05)  # foretell opens its outputs, then its inputs
        (foretell_in,) = jack_server.connected("runkeys:runkeys")

        keys.send(M("control_change", control=1, value=100))
        first = _answer(synth)
        assert [(m.type, m.control) for m in first] == [
            ("control_change", 1),
            ("control_change", 2),
        ]

        jack_server.disconnect("runkeys:runkeys", foretell_in)
        keys.send(M("control_change", control=1, value=20))  # nobody hears this one
        assert _answer(synth, timeout=1.0) == []
        assert run.poll() is None

        jack_server.connect("runkeys:runkeys", foretell_in)
        keys.send(M("control_change", control=2, value=5))
        assert len(_answer(synth)) == 2  # answering again, same run
    finally:
        run.send_signal(signal.SIGINT)
        _, errors = run.communicate(timeout=30)
    assert run.returncode == 0, errors
    assert "MIDI in runkeys; MIDI out virtual:run-out" in errors
    assert "stopped after 2 inputs" in errors, errors
