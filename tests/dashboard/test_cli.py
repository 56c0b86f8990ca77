"""``foretell run --dashboard``: the page is served beside OSC, and Ctrl-C stops both cleanly."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from foretell.model.random import random_model_file


def dashboard_url(process: subprocess.Popen[str]) -> str:
    """The page's address, from what ``foretell run`` prints."""
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        assert line, "foretell run ended before serving the dashboard"
        if found := re.search(r"dashboard at (http://\S+)", line):
            return found.group(1)
    raise AssertionError("no dashboard address printed")


def test_run_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--no-log"]
    command += ["--osc-in", "127.0.0.1:0", "--osc-out", "127.0.0.1:9", "--dashboard", "127.0.0.1:0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        url = dashboard_url(process)
        with urllib.request.urlopen(url + "api/loadable", timeout=5) as response:
            assert b'"m.ftm"' in response.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert "stopped after" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_run_serves_every_instrument_of_an_ensemble(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    command = [sys.executable, "-m", "foretell", "run", "--no-log", "--osc-in", "127.0.0.1:0"]
    for name in ("lead", "bass"):
        command += ["--instrument", f"{name}={model}:0:127.0.0.1:9"]
    command += ["--mode", "filter", "--dashboard", "127.0.0.1:0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        url = dashboard_url(process)
        with connect(url.replace("http", "ws") + "ws") as ws:
            hello = json.loads(ws.recv(timeout=5))
            hello = (hello if isinstance(hello, list) else [hello])[0]["hello"]
            assert hello["instruments"] == ["lead", "bass"]
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_config_serves_the_dashboard_with_its_presets(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    config = tmp_path / "run.toml"
    config.write_text(
        f'[model]\nfile = "{model}"\n[log]\nenabled = false\n'
        '[osc]\nlisten_host = "127.0.0.1"\nlisten_port = 0\nsend_port = 9\n'
        '[dashboard]\nenabled = true\nport = 0\nnames = ["stage.local"]\n'
        '[[dashboard.preset]]\nname = "calm"\npi_temp = 0.5\nsigma_temp = 0.3\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "foretell", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = dashboard_url(process)
        with connect(url.replace("http", "ws") + "ws") as ws:
            hello = json.loads(ws.recv(timeout=5))
            hello = (hello if isinstance(hello, list) else [hello])[0]["hello"]
        calm = {"pi_temp": 0.5, "sigma_temp": 0.3, "activity_temp": 1.0}
        calm |= {"threshold": 0.1, "timescale": 1.0}
        assert hello["presets"] == {"calm": calm}
        port = url.split(":")[2].split("/")[0]
        request = urllib.request.Request(url, headers={"Host": f"stage.local:{port}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200  # a configured name
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_preset_out_of_range_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[dashboard]\n[[dashboard.preset]]\nname = "wild"\ntimescale = 1e-9\n')
    done = subprocess.run(
        [sys.executable, "-m", "foretell", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "preset 'wild'" in lines[0] and "0.05..20" in lines[0], lines
