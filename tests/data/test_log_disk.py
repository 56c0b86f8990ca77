"""The log outlives its disk: a full tmpfs and a removed folder under a live engine over real
UDP. The performance goes on, rows wait in memory and are written once the disk takes them
again; what never made it is counted. (A read-only remount cannot be made while the log is open
for writing; the kernel's own remount on errors takes the full disk's path: the write fails.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from foretell import commands as control
from foretell.config import RunConfig, override
from foretell.data import append_file
from foretell.data.log import read_log
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.perform.session import EngineHandle, start_engine
from tests.osc_peers import recv_osc, udp_peer, wait_until

ROOT = os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 kB tmpfs (CI runs as root; elsewhere these tests skip)."""
    if not ROOT:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(append_file, "RETRY_EVERY", 0.05)


def _fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; return it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def _engine(model: Path, log_dir: Path, peer: socket.socket) -> EngineHandle:
    config = override(RunConfig(), "model", file=model, seed=0)
    config = override(config, "interaction", mode="filter")
    port = peer.getsockname()[1]
    config = override(config, "osc", listen_host="127.0.0.1", listen_port=0, send_port=port)
    return start_engine(override(config, "log", dir=log_dir))


def _play(engine: EngineHandle, peer: socket.socket, n: int) -> int:
    """Send ``n`` inputs one by one; return how many were answered."""
    answered = 0
    for i in range(n):
        peer.sendto(encode_floats("/interface", [i / n, 0.5, 0.5]), engine.osc_address)
        answered += recv_osc(peer, timeout=1.0) is not None
    return answered


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return random_model_file(tmp_path / "models" / "m.ftm", units=16)


def test_a_full_disk_never_stops_the_performance_and_loses_nothing(
    tmpfs: Path, model: Path
) -> None:
    peer = udp_peer()
    with _engine(model, tmpfs, peer) as engine:
        assert _play(engine, peer, 5) == 5
        filler = _fill(tmpfs)
        assert _play(engine, peer, 40) == 40  # answers go on while the disk is full
        snap = engine.snapshot().instruments[0]
        assert snap.not_logged > 0  # waiting in memory
        filler.unlink()
        assert _play(engine, peer, 5) == 5
        played = [50]

        def on_disk() -> bool:  # the disk is tried again by the first row a second after
            played[0] += _play(engine, peer, 1)
            return engine.snapshot().instruments[0].not_logged == 0

        wait_until(on_disk, what="the rows kept in memory to reach the disk while it plays")
        path = Path(str(snap.log_path))
    rows = read_log(path).rows
    assert len(rows) == 2 * played[0]  # every input and every answer, in order
    assert [r.source for r in rows[:4]] == ["user", "model", "user", "model"]


def test_a_disk_that_stays_full_counts_the_rows_not_logged(tmpfs: Path, model: Path) -> None:
    peer = udp_peer()
    with _engine(model, tmpfs, peer) as engine:
        assert _play(engine, peer, 3) == 3
        _fill(tmpfs)
        assert _play(engine, peer, 100) == 100
    assert engine.session is not None
    snap = engine.session.instrument.snapshot()  # after stop: the log is closed
    written = len(read_log(str(snap.log_path)).rows)  # the last page may take a few rows
    assert snap.not_logged > 100 and written + snap.not_logged == 2 * 103


def test_rows_not_logged_are_counted_over_every_take_of_the_session(
    tmpfs: Path, model: Path
) -> None:
    peer = udp_peer()
    with _engine(model, tmpfs, peer) as engine:
        assert _play(engine, peer, 3) == 3
        _fill(tmpfs)
        assert _play(engine, peer, 100) == 100
        engine.command(control.NewTake("second"))  # the first file closes with rows refused
        assert _play(engine, peer, 10) == 10
    assert engine.session is not None
    snap = engine.session.instrument.snapshot()
    assert str(snap.log_path).endswith("second-4d-mdrnn.log")
    assert snap.not_logged > 100  # the first take's refused rows are still counted


def test_a_removed_log_folder_is_made_again(tmp_path: Path, model: Path) -> None:
    peer = udp_peer()
    logs = tmp_path / "logs"
    with _engine(model, logs, peer) as engine:
        assert _play(engine, peer, 3) == 3
        path = Path(str(engine.snapshot().instruments[0].log_path))
        shutil.rmtree(logs)
        wait_until(lambda: (_play(engine, peer, 1), path.exists())[1], timeout=3)
        assert _play(engine, peer, 4) == 4
    rows = read_log(path).rows
    assert len(rows) >= 8 and rows[-1].source == "model"  # the rows after the removal are kept
