"""Measure what a stranger on the venue's network costs the show (the figures in
docs/performance.md, "Strangers on the network"): run as root from the repository root,
``python scripts/measure_strangers.py [osc] [slowloris] [upload] [websocket]`` (default: all).

The stranger is a second host: a network namespace joined by a veth pair (``tests/netns.py``).
Each scenario prints one line of figures; nothing is asserted (the tests do that).
"""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foretell.config import InteractionConfig, LogConfig, ModelConfig, OscConfig, RunConfig
from foretell.config.transports import WebSocketConfig
from foretell.data.log import read_log
from foretell.io.osc_codec import encode_floats
from foretell.model.random import random_model_file
from foretell.perform.session import start_engine
from tests.dashboard.test_slowloris import SLOWLORIS
from tests.impsy.test_bounded_imports import _keras2_weights, _upload, _zip_bomb
from tests.io.test_osc_guests import FLOOD
from tests.netns import Stranger, second_host
from tests.osc_peers import free_udp_port
from tests.studio.running import make_project


def _config(folder: Path, **changes: object) -> RunConfig:
    random_model_file(folder / "m.ftm", dimension=4, units=8, seed=0)
    osc = OscConfig(listen_host="0.0.0.0", listen_port=free_udp_port(), send_port=9)
    base = RunConfig(
        model=ModelConfig(file=folder / "m.ftm", seed=0),
        interaction=InteractionConfig(mode="listen"),
        osc=osc,
        log=LogConfig(dir=folder / "logs", predictions=False),
    )
    import dataclasses

    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def osc(stranger: Stranger, folder: Path) -> None:
    """A full-speed flood of 128-input bundles while the performer plays 1,000 inputs; then
    100 bundles a second for 10 s (the issue's 2.7 GB/h)."""
    config = _config(folder / "flood")
    with start_engine(config) as engine:
        port = engine.osc_address[1]
        target = [stranger.gateway, str(port)]
        flood = subprocess.Popen(
            ["ip", "netns", "exec", stranger.name, sys.executable, "-c", FLOOD, *target, "8"]
        )
        started = time.monotonic()
        time.sleep(0.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mine:
            for i in range(1000):
                values = [0.1, 0.2, (i % 100) / 100]
                mine.sendto(encode_floats("/interface", values), ("127.0.0.1", port))
                time.sleep(0.002)
        flood.wait()
        flooded = time.monotonic() - started
        path = engine.snapshot().instruments[0].log_path
        received = engine.session.osc_in.received  # type: ignore[union-attr]
    rows = read_log(path).rows
    mine_logged = sum(abs(r.values[0] - 0.1) < 1e-6 for r in rows)  # the stranger plays 0.9
    print(
        f"osc flood: performer inputs logged {mine_logged}/1000, guest rows "
        f"{sum(r.source == 'guest' for r in rows)} in {flooded:.1f} s (the stranger's rows "
        f"{sum(abs(r.values[0] - 0.9) < 1e-6 for r in rows)}), datagrams read {received}"
    )
    config = _config(folder / "bundles")
    with start_engine(config) as engine, stranger.socket() as sock:
        port = engine.osc_address[1]
        message = encode_floats("/interface", [0.9, 0.9, 0.9])
        parts = b"".join(len(message).to_bytes(4, "big") + message for _ in range(128))
        data = b"#bundle\0" + (1).to_bytes(8, "big") + parts
        start = time.monotonic()
        for i in range(1000):
            sock.sendto(data, (stranger.gateway, port))
            time.sleep(max(0.0, start + (i + 1) / 100 - time.monotonic()))
        seconds = time.monotonic() - start
        time.sleep(0.3)
        path = engine.snapshot().instruments[0].log_path
    size = Path(path).stat().st_size
    print(
        f"osc bundles (100/s of 128 inputs, {seconds:.1f} s): log grew {size / 1e6:.2f} MB "
        f"= {size / seconds * 3600 / 1e6:.0f} MB/h"
    )


def slowloris(stranger: Stranger, folder: Path) -> None:
    """1,100 connections sending headers a byte every 0.5 s for 6 s, under 1,024 open files,
    while the token holder makes 20 requests."""
    from tests.dashboard.conftest import run_live

    models = folder / "models"
    models.mkdir()
    random_model_file(models / "random.ftm", dimension=4, units=16, seed=0)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        live = run_live(folder, models, "0.0.0.0")
        page = next(live)
        port, token = page.dashboard.address[1], page.dashboard.token
        target = [stranger.gateway, str(port), "1100", "6"]
        attack = subprocess.Popen(
            ["ip", "netns", "exec", stranger.name, sys.executable, "-c", SLOWLORIS, *target],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        took, failed = [], 0
        import urllib.request

        for _ in range(20):
            started = time.monotonic()
            try:
                url = f"http://127.0.0.1:{port}/api/loadable?token={token}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
                took.append((time.monotonic() - started) * 1e3)
            except OSError:
                failed += 1
        held = attack.communicate(timeout=60)[0].strip()
        with contextlib.suppress(StopIteration):
            next(live)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    median = statistics.median(took) if took else float("nan")
    print(
        f"slowloris: token holder {len(took)}/20 answered (median {median:.1f} ms, max "
        f"{max(took, default=float('nan')):.1f} ms, {failed} failed); stranger's connections "
        f"still open after 6 s: {held}"
    )


def upload(folder: Path) -> None:
    """The studio's (the show's process's) peak RSS for each hostile upload."""
    for name, path in [
        ("h5 40000x40000", _keras2_weights(folder / "big.h5", (40000, 40000))),
        ("keras zip bomb 1 GB", _zip_bomb(folder / "bomb.keras")),
    ]:
        status, error, peak = _upload(make_project(folder / name.replace(" ", "-")), path)
        size = path.stat().st_size
        print(f"upload {name} ({size / 1024:.0f} KB): {status}, peak RSS {peak:.0f} MB: {error}")


def websocket(stranger: Stranger, folder: Path) -> None:
    """40 connections from the stranger, then the performer's client."""
    from websockets.sync.client import connect

    from tests.io.test_strangers import free_tcp_port

    config = _config(folder / "ws", websocket=WebSocketConfig(host="0.0.0.0", port=free_tcp_port()))
    with start_engine(config) as engine, contextlib.ExitStack() as held:
        port = int(config.websocket.port or 0)
        for _ in range(40):
            sock = stranger.socket(socket.SOCK_STREAM)
            sock.connect((stranger.gateway, port))
            held.enter_context(connect(f"ws://{stranger.gateway}:{port}", sock=sock))
        time.sleep(0.3)
        server = engine.transports.sources[0].server  # type: ignore[attr-defined]
        places = engine.call(lambda: len(server.clients))
        try:
            with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as mine:
                mine.send(json.dumps({"command": "pause", "args": [1]}))
                time.sleep(0.3)
            performer = "steers" if engine.snapshot().instruments[0].settings.paused else "ignored"
        except Exception as exc:
            performer = f"refused ({type(exc).__name__})"
    print(f"websocket: 40 stranger connections hold {places} places; the performer {performer}")


def main() -> None:
    chosen = set(sys.argv[1:]) or {"osc", "slowloris", "upload", "websocket"}
    print(f"load average at start: {Path('/proc/loadavg').read_text().split()[:3]}")
    with tempfile.TemporaryDirectory() as tmp, second_host() as stranger:
        folder = Path(tmp)
        for name in ("osc", "slowloris", "upload", "websocket"):
            if name in chosen:
                (folder / name).mkdir()
                run = globals()[name]
                run(folder / name) if name == "upload" else run(stranger, folder / name)
    print(f"load average at end: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
