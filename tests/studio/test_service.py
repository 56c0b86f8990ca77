"""examples/systemd/foretell-studio.service: the command it starts really serves the studio (with
the unit's open-files limit), and its stop signal stops it cleanly."""

from __future__ import annotations

import configparser
import resource
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from tests.studio.running import Client, _read_addresses, make_project

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
