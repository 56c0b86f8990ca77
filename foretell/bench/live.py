"""``foretell bench live``: the engine measured from outside, over real UDP, as a musician meets it.

The engine runs as its own process (``python -m foretell run``, a random-weight "s" model of
dimension 4: 2 x 64 LSTM, 5 mixtures, which costs what a trained one costs); this process is the
external client.

- filter: ``/interface`` at ``--rate`` messages/s for ``--duration`` s, each reply's round trip
  timed (p50/p99 in ms; a reply missing after 100 ms is lost).
- callresponse: a few inputs, then silence; the engine plays on its own and its sidecar log gives
  each scheduled event's |sent - scheduled| (timing p50/p99 in ms).
- soak (``--soak SECONDS``): filter at 500 messages/s; the engine's resident memory at the start and
  end, the round-trip p50 of the first and last minute (drift), and whether every input was logged.

- websocket (``--ws``, on by default): the filter round trip from a websockets client to
  ``foretell run --ws``, and the OSC round trip beside a WebSocket client that never reads and one
  that reads slowly (see ``foretell.bench.live_ws``).

``--runs N`` repeats the filter and callresponse parts and reports medians. It measures; it asserts
nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench import live_learn
from foretell.bench.harness import (
    bench_model,
    engine,
    latency_summary,
    machine,
    round_trips,
    sidecar_timing,
    udp_client,
)
from foretell.bench.registry import register
from foretell.io.osc_codec import decode_packet, encode_floats


def filter_run(
    model: Path, rate: float, seconds: float, log_dir: Path, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    sock = udp_client()
    with engine(model, "filter", sock.getsockname()[1], log_dir, *extra) as proc:
        round_trips(sock, proc.port, rate, 1.0)  # warm-up, not counted
        times, lost = round_trips(sock, proc.port, rate, seconds)
    sock.close()
    return {**latency_summary(times * 1e3), "sent": len(times), "lost": lost}


ECHO_SERVER = """
import asyncio, sys
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import AsyncIOOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient
out = SimpleUDPClient("127.0.0.1", int(sys.argv[1]))
dispatcher = Dispatcher()
dispatcher.map("/interface", lambda address, *v: out.send_message("/prediction", list(v)))
async def main():
    server = AsyncIOOSCUDPServer(("127.0.0.1", 0), dispatcher, asyncio.get_running_loop())
    transport, _ = await server.create_serve_endpoint()
    print(transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.sleep(1e9)
asyncio.run(main())
"""


def echo_run(rate: float, seconds: float) -> dict[str, Any]:
    """The same client against a bare python-osc echo server: the floor on this machine now."""
    sock = udp_client()
    command = [sys.executable, "-c", ECHO_SERVER, str(sock.getsockname()[1])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        round_trips(sock, port, rate, 1.0)
        times, _lost = round_trips(sock, port, rate, seconds)
    finally:
        process.kill()
        process.wait()
        sock.close()
    ms = times[~np.isnan(times)] * 1e3
    return {"echo_p50_ms": float(np.median(ms)), "echo_p99_ms": float(np.percentile(ms, 99))}


def callresponse_run(
    model: Path, seconds: float, log_dir: Path, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    sock = udp_client()
    rng = np.random.default_rng(2)
    received = 0
    with engine(
        model, "callresponse", sock.getsockname()[1], log_dir, "--threshold", "0.05", *extra
    ) as proc:
        for _ in range(50):
            sock.sendto(
                encode_floats("/interface", rng.random(3).tolist()), ("127.0.0.1", proc.port)
            )
            time.sleep(0.01)
        sock.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                if decode_packet(sock.recv(65536))[0][0] == "/prediction":
                    received += 1
            except TimeoutError:
                pass
    sock.close()
    errors = np.abs(sidecar_timing(log_dir)) * 1e3
    if len(errors) == 0:
        return {"timing_p50_ms": None, "timing_p99_ms": None, "generated": 0, "received": received}
    return {**latency_summary(errors, "timing_"), "generated": len(errors), "received": received}


def soak_run(
    model: Path, seconds: float, log_dir: Path, extra: tuple[str, ...] = (), rate: float = 500.0
) -> dict[str, Any]:
    sock = udp_client()
    minute = min(60.0, seconds / 3)
    with engine(model, "filter", sock.getsockname()[1], log_dir, *extra) as proc:
        round_trips(sock, proc.port, rate, min(10.0, seconds / 10))  # settle
        rss_start = proc.rss_mb()
        first, lost_first = round_trips(sock, proc.port, rate, minute)
        middle, lost_middle = round_trips(sock, proc.port, rate, max(seconds - 2 * minute, 0))
        last, lost_last = round_trips(sock, proc.port, rate, minute)
        rss_end = proc.rss_mb()
    sock.close()
    sent = sum(len(t) for t in (first, middle, last)) + int(rate * min(10.0, seconds / 10))
    logged = sum(
        line.count(",interface,") for log in log_dir.glob("*-mdrnn.log") for line in log.open()
    )
    return {
        "seconds": seconds,
        "rate": rate,
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_growth_mb": rss_end - rss_start,
        "p50_first_ms": float(np.nanmedian(first) * 1e3),
        "p50_last_ms": float(np.nanmedian(last) * 1e3),
        "p99_first_ms": float(np.nanpercentile(first, 99) * 1e3),
        "p99_last_ms": float(np.nanpercentile(last, 99) * 1e3),
        "lost": lost_first + lost_middle + lost_last,
        "sent": sent,
        "logged": logged,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return float(np.median(values)) if values else None


@register
@click.command()
@click.option(
    "--duration", default=30.0, show_default=True, help="Seconds of filter-mode traffic per run."
)
@click.option("--rate", default=200.0, show_default=True, help="Messages per second (filter).")
@click.option("--runs", default=1, show_default=True, help="Repeat and report medians.")
@click.option(
    "--generate", default=5.0, show_default=True, help="Seconds of call-response playing."
)
@click.option("--soak", type=float, help="Also soak at 500 messages/s for this many seconds.")
@click.option(
    "--baseline/--no-baseline",
    default=True,
    show_default=True,
    help="Also time a bare python-osc echo server the same way (the machine's floor).",
)
@click.option("--realtime", is_flag=True, help="Run the engine with `foretell run --realtime`.")
@click.option(
    "--ws/--no-ws",
    default=True,
    show_default=True,
    help="Also time the WebSocket round trip, and OSC beside stalled WebSocket clients.",
)
@click.option(
    "--learn",
    is_flag=True,
    help="Also time the engine while it fine-tunes in the background (foretell run --learn).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def live(
    duration: float,
    rate: float,
    runs: int,
    generate: float,
    soak: float | None,
    baseline: bool,
    realtime: bool,
    ws: bool,
    learn: bool,
    as_json: bool,
) -> None:
    """Round trip (filter), timing (callresponse) and soak of the live engine over real UDP."""
    with tempfile.TemporaryDirectory(prefix="foretell-bench-") as tmp:
        root = Path(tmp)
        model = bench_model(root / "s.ftm")
        extra = ("--realtime",) if realtime else ()
        results = []
        for i in range(runs):
            result = filter_run(model, rate, duration, root / f"filter{i}", extra)
            result.update(callresponse_run(model, generate, root / f"cr{i}", extra))
            if baseline:
                result.update(echo_run(rate, duration))
            if ws:
                from foretell.bench.live_ws import stalled_clients_run, websocket_run

                result.update(websocket_run(model, rate, duration, root / f"ws{i}", extra))
                result.update(stalled_clients_run(model, rate, duration, root / f"st{i}", extra))
            if learn:
                here = root / f"l{i}"
                learning = live_learn.learning_run(model, rate, duration, generate, here, extra)
                result.update(learning)
            results.append(result)
        summary: dict[str, Any] = {
            "machine": machine(),
            "model": "s (2 x 64 LSTM, 5 mixtures), dimension 4, random weights",
            "rate": rate,
            "duration_s": duration,
            "realtime": realtime,
            "load_average": os.getloadavg(),
            "runs": len(results),
            **{
                key: _median(results, key)
                for key in (
                    "p50_ms",
                    "p99_ms",
                    "lost",
                    "timing_p50_ms",
                    "timing_p99_ms",
                    "echo_p50_ms",
                    "echo_p99_ms",
                    "ws_p50_ms",
                    "ws_p99_ms",
                    "ws_lost",
                    "osc_stalled_p50_ms",
                    "osc_stalled_p99_ms",
                    *(live_learn.LEARN_KEYS if learn else ()),
                )
            },
            "per_run": results,
        }
        if soak:
            summary["soak"] = soak_run(model, soak, root / "soak", extra)
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"machine: {summary['machine']['cpu']} ({summary['machine']['cores']} cores)")
    click.echo(
        f"filter round trip at {rate:g}/s for {duration:g} s, median of {runs} run(s): "
        f"p50 {summary['p50_ms']:.3f} ms, p99 {summary['p99_ms']:.3f} ms, lost {summary['lost']:g}"
    )
    if summary["echo_p50_ms"] is not None:
        click.echo(
            f"bare python-osc echo server, same client: p50 {summary['echo_p50_ms']:.3f} ms, "
            f"p99 {summary['echo_p99_ms']:.3f} ms"
        )
    if summary["ws_p99_ms"] is not None:
        click.echo(
            f"WebSocket round trip (filter): p50 {summary['ws_p50_ms']:.3f} ms, "
            f"p99 {summary['ws_p99_ms']:.3f} ms, lost {summary['ws_lost']:g}"
        )
    if summary["osc_stalled_p99_ms"] is not None:
        click.echo(
            "OSC round trip beside a dead and a slow WebSocket client: "
            f"p50 {summary['osc_stalled_p50_ms']:.3f} ms, "
            f"p99 {summary['osc_stalled_p99_ms']:.3f} ms"
        )
    if summary["timing_p99_ms"] is not None:
        click.echo(
            f"callresponse timing |sent - scheduled|: p50 {summary['timing_p50_ms']:.3f} ms, "
            f"p99 {summary['timing_p99_ms']:.3f} ms"
        )
    if learn:
        for line in live_learn.describe(summary):
            click.echo(line)
    if soak:
        s = summary["soak"]
        click.echo(
            f"soak {soak:g} s at 500/s: RSS {s['rss_start_mb']:.1f} -> {s['rss_end_mb']:.1f} MB, "
            f"p50 {s['p50_first_ms']:.3f} -> {s['p50_last_ms']:.3f} ms, lost {s['lost']}, "
            f"logged {s['logged']}/{s['sent']}"
        )
