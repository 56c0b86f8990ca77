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

from tests.fixtures import random_model_file


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
        with urllib.request.urlopen(url + "api/models", timeout=5) as response:
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
