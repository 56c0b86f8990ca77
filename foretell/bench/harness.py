"""What several benchmarks share: the benchmark model, ``foretell run`` as a child process, a UDP
client that paces its sends, the engine's sidecar timing and latency summaries.

The engine runs as its own process so that it is measured from outside, as a musician meets it.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from foretell.io.osc_codec import encode_floats
from foretell.model.fileformat import ModelSpec, save_model
from foretell.model.random import random_model
from foretell.model.transform import DEFAULT_DT_OFFSET, DataTransform

REPLY_TIMEOUT = 0.1  # seconds; a reply missing after this is lost
STARTUP_TIMEOUT = 30.0  # seconds for ``foretell run`` to say where it listens


# -- the benchmark model --------------------------------------------------------------------------


def bench_spec(units: int, dimension: int, layers: int, mixtures: int) -> ModelSpec:
    """A model shape with a fixed, plausible transform (no data to fit it to)."""
    transform = DataTransform(
        "log",
        DEFAULT_DT_OFFSET,
        (-2.5,) + (0.5,) * (dimension - 1),
        (1.0,) + (0.3,) * (dimension - 1),
    )
    return ModelSpec(dimension, layers, units, mixtures, transform)


def bench_model(path: Path, dimension: int = 4, units: int = 64) -> Path:
    """A random-weight model of the "s" size, its dt transform fitted to ~20 ms intervals."""
    model = random_model(
        dimension,
        units,
        init="uniform",
        events=1000,
        median_dt=0.03,
        dt_spread=0.5,
        info={"name": "bench-s-random"},
    )
    return save_model(path, model)


# -- the machine, the engine and its clients ------------------------------------------------------


def machine() -> dict[str, Any]:
    """The CPU model, its number of cores and the Python version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


class EngineProcess:
    """``foretell run`` (or ``verb``: ``studio DIR``) in a child process; parses the port it
    listens on from what it prints first."""

    def __init__(self, args: list[str], verb: tuple[str, ...] = ("run",)) -> None:
        command = [sys.executable, "-m", "foretell", *verb, "--osc-in", "127.0.0.1:0", *args]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.port = self._wait_for_port()
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_port(self) -> int:
        assert self.process.stderr is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if "listening for OSC on" in line:
                return int(line.split("listening for OSC on ", 1)[1].split(",")[0].rsplit(":")[1])
        self.process.kill()
        raise RuntimeError("the engine did not start: " + "".join(self.lines)[-2000:])

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def engine(
    model: Path, mode: str, client_port: int, log_dir: Path, *extra: str
) -> Iterator[EngineProcess]:
    """``foretell run`` with ``model`` in ``mode``, replying to ``client_port``, for the block."""
    args = [
        "--model",
        str(model),
        "--mode",
        mode,
        "--osc-out",
        f"127.0.0.1:{client_port}",
        "--log-dir",
        str(log_dir),
        "--seed",
        "0",
        *extra,
    ]
    process = EngineProcess(args)
    try:
        yield process
    finally:
        process.stop()


def udp_client() -> socket.socket:
    """A UDP socket bound to a free local port (a socket closes itself at the end of ``with``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def wait_until(deadline: float) -> None:
    """Sleep until just before ``deadline`` (``perf_counter`` seconds), then spin to it."""
    remaining = deadline - time.perf_counter()
    if remaining > 0.0005:
        time.sleep(remaining - 0.0005)
    while time.perf_counter() < deadline:
        pass


def discard(sock: socket.socket) -> int:
    """Drop every datagram waiting on ``sock``; return how many there were."""
    sock.setblocking(False)
    count = 0
    try:
        while True:
            sock.recv(65536)
            count += 1
    except BlockingIOError:
        pass
    sock.setblocking(True)
    return count


def round_trips(
    sock: socket.socket, port: int, rate: float, seconds: float
) -> tuple[np.ndarray, int]:
    """Send at ``rate`` for ``seconds``, waiting for each reply; return (round trips s, lost)."""
    rng = np.random.default_rng(1)
    target = ("127.0.0.1", port)
    messages = [encode_floats("/interface", rng.random(3).tolist()) for _ in range(256)]
    count = int(rate * seconds)
    times = np.full(count, np.nan)
    sock.settimeout(REPLY_TIMEOUT)
    start = time.perf_counter() + 0.05
    for i in range(count):
        wait_until(start + i / rate)
        discard(sock)
        sent = time.perf_counter()
        sock.sendto(messages[i % len(messages)], target)
        try:
            sock.recv(65536)
        except TimeoutError:
            continue
        times[i] = time.perf_counter() - sent
    return times, int(np.isnan(times).sum())


# -- timing figures -------------------------------------------------------------------------------


def sidecar_timing(log_dir: Path, pattern: str = "*.foretell.jsonl") -> np.ndarray:
    """``sent - scheduled`` (seconds) of every timing record in the sidecar logs in ``log_dir``
    (those matching ``pattern``)."""
    errors = []
    for sidecar in log_dir.glob(pattern):
        for line in sidecar.read_text().splitlines():
            record = json.loads(line)
            if record.get("kind") == "timing":
                errors.append(record["sent"] - record["scheduled"])
    return np.array(errors)


def latency_summary(
    ms: np.ndarray, prefix: str = "", with_max: bool = True, digits: int | None = None
) -> dict[str, float | None]:
    """``{prefix}p50_ms``, ``{prefix}p99_ms`` (and ``{prefix}max_ms``) of ``ms``, NaNs ignored,
    rounded to ``digits`` if given; ``None`` values when nothing was measured."""
    ms = np.asarray(ms, dtype=np.float64)
    ms = ms[~np.isnan(ms)]
    keys = ["p50", "p99", *(["max"] if with_max else [])]
    if len(ms) == 0:
        return {f"{prefix}{key}_ms": None for key in keys}
    values = [float(np.median(ms)), float(np.percentile(ms, 99)), float(ms.max())]
    if digits is not None:
        values = [round(value, digits) for value in values]
    return {f"{prefix}{key}_ms": value for key, value in zip(keys, values, strict=False)}
