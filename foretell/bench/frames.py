"""``foretell bench frames``: how many state frames each dashboard page receives per second.

A real engine (a random-weight model of three controls, in filter mode) on a thread of its own, its
dashboard on 127.0.0.1, and ``--pages`` WebSocket clients, each on a thread of its own, reading
for ``--duration`` seconds while a UDP client plays ``/interface`` at ``--rate`` messages/s (0:
none). For each page: the state frames per second and the gaps between them (p50/p99/max ms),
against the dashboard's target (``fps``, which the greeting names).

A page's browser draws at most one frame per display refresh, so the dashboard sends state frames
at a fixed rate (30/s); on a loaded machine the figure falls below it. It measures; it asserts
nothing (the tests check that frames keep coming, not how fast).
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import latency_summary, machine
from foretell.bench.registry import register


def _page(url: str, seconds: float, out: list[dict[str, Any]]) -> None:
    """One page: read for ``seconds`` after the greeting; append the frame times it saw."""
    from websockets.sync.client import connect

    times: list[float] = []
    fps = None
    with connect(url, compression=None, open_timeout=10) as ws:
        end = None
        while end is None or time.monotonic() < end:
            data = json.loads(ws.recv(timeout=10))
            for message in data if isinstance(data, list) else [data]:
                if "hello" in message:
                    fps, end = message["hello"]["fps"], time.monotonic() + seconds
                elif "state" in message and end is not None:
                    times.append(time.monotonic())
    out.append({"fps": fps, "times": np.array(times)})


def _play(port: int, rate: float, stop: threading.Event) -> None:
    from foretell.io.osc_codec import encode_floats

    if rate <= 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        k = 0
        while not stop.wait(1.0 / rate):
            k += 1
            sock.sendto(encode_floats("/interface", [(k % 10) / 10, 0.5, 0.5]), ("127.0.0.1", port))


def measure(folder: Path, pages: int, rate: float, seconds: float) -> list[dict[str, Any]]:
    """Per page: frames/s, the target and the gaps between frames (ms)."""
    from foretell.config import InteractionConfig, LogConfig, ModelConfig, OscConfig, RunConfig
    from foretell.dashboard.server import serve_dashboard
    from foretell.model.random import random_model_file
    from foretell.perform.session import start_engine

    model = random_model_file(folder / "m.ftm", dimension=4, units=64, seed=0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as synth:
        synth.bind(("127.0.0.1", 0))
        config = RunConfig(
            model=ModelConfig(file=model, seed=0),
            interaction=InteractionConfig(mode="filter"),
            osc=OscConfig(
                listen_host="127.0.0.1",
                listen_port=0,
                send_host="127.0.0.1",
                send_port=synth.getsockname()[1],
            ),
            log=LogConfig(dir=folder / "logs"),
        )
        with start_engine(config) as engine:
            session = engine.session
            assert session is not None
            loop = engine.call(asyncio.get_running_loop)
            dashboard = engine.call(lambda: serve_dashboard(session.engine, "127.0.0.1", 0))
            url = dashboard.url.replace("http", "ws") + "ws"
            results: list[dict[str, Any]] = []
            stop = threading.Event()
            player = threading.Thread(target=_play, args=(engine.osc_address[1], rate, stop))
            readers = [
                threading.Thread(target=_page, args=(url, seconds, results)) for _ in range(pages)
            ]
            player.start()
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
            stop.set()
            player.join()
            asyncio.run_coroutine_threadsafe(dashboard.aclose(), loop).result(10)
    return [
        {
            "target_fps": r["fps"],
            "fps": round(len(r["times"]) / seconds, 1),
            **latency_summary(np.diff(r["times"]) * 1e3, prefix="gap_", digits=1),
        }
        for r in results
    ]


@register
@click.command("frames")
@click.option("--pages", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--rate", default=100.0, show_default=True, type=click.FloatRange(0, 2000))
@click.option("--duration", default=5.0, show_default=True, type=click.FloatRange(0.5))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def frames_bench(pages: int, rate: float, duration: float, as_json: bool) -> None:
    """State frames per second each dashboard page receives, and the gaps between them."""
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="foretell-bench-frames-") as folder:
        per_page = measure(Path(folder), pages, rate, duration)
    result = {
        "machine": machine(),
        "pages": pages,
        "rate": rate,
        "duration_s": duration,
        "load_before": load_before,
        "load_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "per_page": per_page,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"load {result['load_before']} -> {result['load_after']}")
    for k, page in enumerate(per_page):
        click.echo(
            f"page {k}: {page['fps']} frames/s (target {page['target_fps']}), gaps "
            f"p50 {page['gap_p50_ms']} ms, p99 {page['gap_p99_ms']} ms, max {page['gap_max_ms']} ms"
        )
