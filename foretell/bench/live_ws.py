"""The WebSocket parts of ``foretell bench live``: round trip, and OSC beside stalled clients.

- websocket: ``{"interface": [..]}`` at ``rate`` messages/s from a real websockets client (this
  process, asyncio, one thread like a browser's) to ``foretell run --ws`` in filter mode (its own
  process); each ``prediction``'s round trip is timed (p50/p99 in ms; missing after 100 ms:
  lost). The ``interface`` echo that precedes it is read and skipped.
- stalled clients: the OSC filter round trip while two WebSocket clients are attached, one that
  never reads (a 4 KiB receive buffer) and one that reads 10 messages/s; compared with the plain
  OSC round trip, it shows what slow clients cost the OSC output.

It measures; it asserts nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from foretell.bench.harness import REPLY_TIMEOUT, engine, latency_summary, round_trips, udp_client


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _connect(url: str, deadline: float) -> Any:
    """A websockets sync client, retrying while the engine starts its server."""
    from websockets.sync.client import connect

    while True:
        try:
            return connect(url, compression=None, open_timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def _wait_until_async(deadline: float) -> None:
    """Sleep on the loop until just before ``deadline``, then spin (as ``harness.wait_until``)."""
    remaining = deadline - time.perf_counter()
    if remaining > 0.002:
        await asyncio.sleep(remaining - 0.002)
    while time.perf_counter() < deadline:
        pass


async def ws_round_trips(url: str, rate: float, seconds: float) -> tuple[np.ndarray, int]:
    """Send at ``rate`` for ``seconds``, timing each prediction; return (round trips s, lost)."""
    from websockets.asyncio.client import connect

    rng = np.random.default_rng(1)
    messages = [json.dumps({"interface": rng.random(3).tolist()}) for _ in range(256)]
    count = int(rate * seconds)
    times = np.full(count, np.nan)
    async with connect(url, compression=None) as client:
        start = time.perf_counter() + 0.05
        for i in range(count):
            await _wait_until_async(start + i / rate)
            sent = time.perf_counter()
            await client.send(messages[i % len(messages)])
            try:
                async with asyncio.timeout(REPLY_TIMEOUT):
                    while not str(await client.recv()).startswith('{"prediction"'):
                        pass  # the echo of the input comes first
                times[i] = time.perf_counter() - sent
            except TimeoutError:
                pass
    return times, int(np.isnan(times).sum())


def _summary(times: np.ndarray, prefix: str) -> dict[str, Any]:
    return {**latency_summary(times * 1e3, prefix), f"{prefix}lost": int(np.isnan(times).sum())}


def websocket_run(
    model: Path, rate: float, seconds: float, log_dir: Path, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The WebSocket filter round trip (keys ``ws_p50_ms``, ``ws_p99_ms``, ``ws_lost``)."""
    sock, port = udp_client(), _free_tcp_port()
    ws = ("--ws", f"127.0.0.1:{port}")
    url = f"ws://127.0.0.1:{port}"
    with engine(model, "filter", sock.getsockname()[1], log_dir, *ws, *extra):
        _connect(url, time.monotonic() + 10).close()  # the server is up
        asyncio.run(ws_round_trips(url, rate, 1.0))  # warm-up, not counted
        times, _ = asyncio.run(ws_round_trips(url, rate, seconds))
    sock.close()
    return _summary(times, "ws_")


def never_reading_client(port: int) -> socket.socket:
    """A raw TCP client that completes the WebSocket handshake and then never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    status = sock.recv(4096).split(b"\r\n")[0]  # the 101 answer; nothing after it is read
    if b"101" not in status:
        sock.close()
        raise ConnectionError(f"WebSocket handshake refused: {status!r}")
    return sock


def _read_slowly(client: Any, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        try:
            client.recv(0)
        except (TimeoutError, OSError):
            pass
        except Exception:
            return  # closed by the engine


def stalled_clients_run(
    model: Path, rate: float, seconds: float, log_dir: Path, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The OSC filter round trip beside a dead and a slow WebSocket client (``osc_stalled_*``)."""
    sock, port = udp_client(), _free_tcp_port()
    ws = ("--ws", f"127.0.0.1:{port}")
    stop = threading.Event()
    with engine(model, "filter", sock.getsockname()[1], log_dir, *ws, *extra) as proc:
        slow = _connect(f"ws://127.0.0.1:{port}", time.monotonic() + 10)
        dead = never_reading_client(port)
        reader = threading.Thread(target=_read_slowly, args=(slow, stop), daemon=True)
        reader.start()
        try:
            round_trips(sock, proc.port, rate, 1.0)  # warm-up, not counted
            times, _ = round_trips(sock, proc.port, rate, seconds)
        finally:
            stop.set()
            reader.join(1)
            dead.close()
            slow.close()
    sock.close()
    return _summary(times, "osc_stalled_")
