"""``foretell run --dashboard``: the page is served beside OSC, and Ctrl-C stops both cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fixtures import random_model_file


def test_run_serves_the_dashboard_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    model = random_model_file(tmp_path / "m.ftm", dimension=4)
    command = [sys.executable, "-m", "foretell", "run", "--model", str(model), "--no-log"]
    command += ["--osc-in", "127.0.0.1:0", "--osc-out", "127.0.0.1:9", "--dashboard", "127.0.0.1:0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line, "foretell run ended before serving the dashboard"
            if found := re.search(r"dashboard at (http://\S+)", line):
                url = found.group(1)
        assert url is not None
        with urllib.request.urlopen(url + "api/models", timeout=5) as response:
            assert b'"m.ftm"' in response.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
        assert "stopped after" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
