"""Real logs from a real ``foretell run`` process: crash safety under ``kill -9``, and datasets."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from foretell.data.dataset import load_dataset
from foretell.data.log import read_log
from foretell.data.logs_to_dataset import build_dataset
from foretell.errors import LogFormatError
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file

CONFIRMED = 300


def _start(args: list[str]) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "foretell", "run", "--osc-in", "127.0.0.1:0", *args]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "listening for OSC on" in line:
            port = int(line.split("listening for OSC on ", 1)[1].split(",")[0].rsplit(":")[1])
            return process, port
    process.kill()
    raise AssertionError("foretell run did not start: " + "".join(lines))


@pytest.fixture(scope="module")
def killed_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A filter-mode session that answered ``CONFIRMED`` inputs, then was killed mid-flood."""
    root = tmp_path_factory.mktemp("killed")
    model = random_model_file(root / "m.ftm", units=16)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.settimeout(5)
    process, port = _start(
        [
            "--model",
            str(model),
            "--mode",
            "filter",
            "--log-dir",
            str(root / "logs"),
            "--osc-out",
            f"127.0.0.1:{client.getsockname()[1]}",
        ]
    )
    try:
        for i in range(CONFIRMED):
            client.sendto(encode_floats("/interface", [i / 1000, 0.5, 0.5]), ("127.0.0.1", port))
            client.recv(1024)  # answered, so its row is already written
        flooding = threading.Event()

        def flood() -> None:
            while not flooding.is_set():
                client.sendto(encode_floats("/interface", [0.9, 0.9, 0.9]), ("127.0.0.1", port))
                time.sleep(0.0001)  # a flood, not a busy loop on a shared machine

        thread = threading.Thread(target=flood)
        thread.start()
        for _ in range(20):
            client.recv(1024)  # the flood is answered, so it is being logged
        os.kill(process.pid, signal.SIGKILL)  # a real kill -9, mid-write
        process.wait(5)
        flooding.set()
        thread.join()
    finally:
        if process.poll() is None:
            process.kill()
        client.close()
    assert process.returncode == -signal.SIGKILL
    return root / "logs"


def test_kill_9_leaves_a_parsable_log_with_everything_confirmed(killed_session: Path) -> None:
    (log,) = killed_session.glob("*-4d-mdrnn.log")
    contents = read_log(log)
    assert len(contents.broken) <= 1  # at most the line being written
    if contents.broken:
        assert contents.broken[0].line == len(log.read_text().split("\n"))
    user = [r.values[0] for r in contents.rows if r.source == "user"]
    assert user[:CONFIRMED] == pytest.approx([i / 1000 for i in range(CONFIRMED)])
    assert len(user) > CONFIRMED  # the flood was being logged too


def test_dataset_from_real_logs(killed_session: Path, tmp_path: Path) -> None:
    out = tmp_path / "data.npz"
    report = build_dataset([killed_session], out, "user")
    dataset = load_dataset(out)
    (log,) = killed_session.glob("*-4d-mdrnn.log")
    users = sum(r.source == "user" for r in read_log(log).rows)
    assert dataset.dimension == 4 and dataset.events == users - 1 == report.events
    first = dataset.performances[0]
    assert np.all(first[:, 0] > 0)
    assert first[: CONFIRMED - 1, 1] == pytest.approx(np.arange(1, CONFIRMED) / 1000, abs=1e-6)
    models = build_dataset([killed_session], tmp_path / "m.npz", "model")
    both = build_dataset([killed_session], tmp_path / "a.npz", "all")
    assert both.events == report.events + models.events + 1


def test_dataset_counts_and_names_broken_lines(killed_session: Path, tmp_path: Path) -> None:
    (log,) = killed_session.glob("*-4d-mdrnn.log")
    copy = tmp_path / log.name
    shutil.copy(log, copy)
    text = copy.read_text()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = text.splitlines(keepends=True)
    lines.insert(10, "not,a,row\n")
    copy.write_text("".join(lines) + "2024-01-01T00:00:00.0,interf")
    report = build_dataset([copy], tmp_path / "d.npz", "user")
    assert [b.line for b in report.broken] == [11, len(lines) + 1]
    assert str(report.broken[0]).startswith(f"{copy}:11:")


def test_dataset_refuses_when_nothing_is_usable(tmp_path: Path) -> None:
    path = tmp_path / "2024-05-01T20-15-03-4d-mdrnn.log"
    path.write_text("junk\n")
    with pytest.raises(LogFormatError, match="no usable user events"):
        build_dataset([path], tmp_path / "d.npz")
    with pytest.raises(LogFormatError, match="does not exist"):
        build_dataset([tmp_path / "missing.log"], tmp_path / "d.npz")
