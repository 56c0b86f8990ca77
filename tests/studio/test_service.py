"""examples/systemd/foretell-studio.service: the command it starts really serves the studio (with
the unit's open-files limit), and its stop signal stops it cleanly."""

from __future__ import annotations

import configparser
import resource
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from foretell.data.log import read_log
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.studio.config_file import ConfigFile
from foretell.studio.playing import remember
from tests.osc_peers import recv_osc, udp_peer
from tests.studio.running import Client, _read_addresses, make_project, running_studio

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "systemd" / "foretell-studio.service"


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    unit.read_string(SERVICE.read_text())
    return unit


def test_the_service_starts_the_studio_of_its_project_and_stops_on_its_signal(
    tmp_path: Path,
) -> None:
    unit = _unit()
    service = unit["Service"]
    program, *arguments = shlex.split(service["ExecStart"].replace("%h", str(tmp_path)))
    assert program == f"{tmp_path}/foretell/.venv/bin/foretell" and arguments[0] == "studio"
    assert service["WorkingDirectory"] == "%h/my-pad" and unit["Install"]["WantedBy"]
    make_project(tmp_path / "my-pad", controls=3)
    command = [sys.executable, "-m", "foretell", *arguments, "--port", "0"]
    command += ["--osc-in", "127.0.0.1:0", "--osc-out", "127.0.0.1:9"]
    files = int(service["LimitNOFILE"])  # room for 256 guest connections and the rest
    assert files >= 4096

    def limited() -> None:  # as systemd starts it
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    process = subprocess.Popen(
        command, cwd=tmp_path / "my-pad", stderr=subprocess.PIPE, text=True, preexec_fn=limited
    )
    try:
        lines: list[str] = []
        url, _ = _read_addresses(process, lines)
        assert "?token=" in url  # --host 0.0.0.0: the network, with the run's token
        token = url.split("?token=")[1]
        port = url.split("/studio/")[0].rsplit(":", 1)[1]
        status = Client(f"http://127.0.0.1:{port}/").get(f"api/status?token={token}")
        assert status["project"] == "my-pad" and status["dimension"] == 4
        process.send_signal(getattr(signal, service["KillSignal"]))
        assert process.wait(int(service["TimeoutStopSec"])) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _unit_command(home: Path) -> list[str]:
    """The unit's own command for a project in ``home/my-pad``, on ports a test can reach."""
    _, *arguments = shlex.split(_unit()["Service"]["ExecStart"].replace("%h", str(home)))
    command = [sys.executable, "-m", "foretell", *arguments, "--port", "0"]
    return command


def test_the_service_boots_a_configured_project_into_playing(tmp_path: Path) -> None:
    """Launch to the first answer of a project whose model Perform chose: the figure quoted in
    docs/studio.md (printed; how long it takes is not asserted, only that it answers)."""
    project = make_project(tmp_path / "my-pad", controls=3)
    model = random_model_file(project / "models" / "m1.ftm", dimension=4, units=64, seed=1)
    remember(ConfigFile(project / "foretell.toml"), model, "callresponse")
    peer = udp_peer()
    osc_in = udp_peer()
    in_port = osc_in.getsockname()[1]
    osc_in.close()
    command = _unit_command(tmp_path)
    out_port = peer.getsockname()[1]
    command += ["--osc-in", f"127.0.0.1:{in_port}", "--osc-out", f"127.0.0.1:{out_port}"]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=project, stderr=subprocess.PIPE, text=True)
    try:
        answered = None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as player:
            while answered is None and time.monotonic() - started < 60:
                for i in range(4):  # a short phrase, then silence: call and response answers
                    values = [(i * 0.2 + k * 0.1) % 1 for k in range(3)]
                    player.sendto(encode_floats("/interface", values), ("127.0.0.1", in_port))
                answered = recv_osc(peer, timeout=0.25)  # over the 0.1 s threshold
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert answered is not None and answered[0] == "/prediction" and len(answered[1]) == 3
        print(f"launch to first answer: {time.monotonic() - started:.2f} s")
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
        assert process.stderr is not None
        lines = process.stderr.read()
        assert "model " + str(model) in lines and "mode callresponse" in lines, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        peer.close()


def test_a_configured_model_that_is_broken_is_one_line_and_the_take_is_logged(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "my-pad", controls=2)
    model = random_model_file(project / "models" / "m1.ftm", dimension=3, units=16)
    remember(ConfigFile(project / "foretell.toml"), model, "filter")
    model.write_bytes(model.read_bytes()[:300])  # a copy cut short, a card pulled too early
    with running_studio(project) as studio:
        said = [line for line in studio.lines if "model" in line and "not played" in line]
        assert len(said) == 1 and "m1.ftm" in said[0] and "logging" in said[0], studio.lines
        status = studio.client.get("api/status")
        assert status["model"] is None and status["mode"] == "useronly"
        studio.play(20, controls=2)
        studio.wait_for(lambda: studio.client.get("api/status")["inputs"] >= 20)
    logs = list((project / "logs").glob("*.log"))
    assert len(logs) == 1 and len(read_log(logs[0]).rows) >= 20
