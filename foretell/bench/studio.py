"""``foretell bench studio``: how soon ``foretell studio`` answers, and whether training disturbs
it.

- start: ``--starts`` times, a fresh project with a model (the "s" size, random weights, dimension
  4) set to play in filter mode; the clock starts when ``foretell studio`` is launched and stops
  at the first ``/prediction`` that answers an ``/interface`` sent every 5 ms from then on
  (median, min, max seconds: Python's start, imports, the model read, the ports opened).
- live: in one studio, the filter round trip (``/interface`` at ``--rate`` per second for
  ``--duration`` s, as ``bench live``) idle, then while the studio trains a size ``--size`` model
  on the bundled LightPad data through its API (``POST /api/train``: a child process at idle
  priority), then idle again; p50/p99 of each and the training/idle ratios.
- timing: in another, the model plays on its own in call-and-response (a few inputs, then
  silence) for ``--duration`` s idle, then as long while the studio trains; each phase a take
  of its own, whose sidecar gives every scheduled event's |sent - scheduled| (as ``bench live``'s
  callresponse part); p50/p99 of each and the ratios.

It measures and reports; it asserts nothing.
"""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import (
    EngineProcess,
    bench_model,
    latency_summary,
    machine,
    round_trips,
    sidecar_timing,
    udp_client,
)
from foretell.bench.registry import register
from foretell.io.osc_codec import encode_floats

ANSWER_WAIT_S = 30.0


def _project(root: Path) -> Path:
    """A project folder playing a benchmark model in filter mode, the bundled data as a dataset."""
    from foretell.data.dataset import bundled_dataset_path
    from foretell.project.layout import init_project

    project = init_project(root, 4)
    bench_model(project.folder("models") / "bench.ftm")
    shutil.copyfile(bundled_dataset_path(), project.folder("datasets") / "lightpad.npz")
    return root


def _studio(project: Path, client_port: int) -> EngineProcess:
    args = ["--port", "0", "--osc-out", f"127.0.0.1:{client_port}", "--seed", "0"]
    args += ["--model", str(project / "models" / "bench.ftm"), "--mode", "filter"]
    return EngineProcess(args, verb=("studio", str(project)))


def start_to_first_answer(root: Path) -> float:
    """Seconds from launching ``foretell studio`` to its first answer (see the docstring)."""
    sock = udp_client()
    sock.settimeout(0.005)
    started = time.perf_counter()
    studio = _studio(_project(root), sock.getsockname()[1])
    message = encode_floats("/interface", [0.5, 0.5, 0.5])
    try:
        while time.perf_counter() - started < ANSWER_WAIT_S:
            sock.sendto(message, ("127.0.0.1", studio.port))
            try:
                sock.recv(65536)
                return time.perf_counter() - started
            except TimeoutError:
                continue
        return float("nan")
    finally:
        studio.stop()
        sock.close()


def _api(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": "application/json"}
    request = urllib.request.Request(base + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _base_url(studio: EngineProcess) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in list(studio.lines):
            if "studio at " in line:
                return line.split("studio at ", 1)[1].split()[0].removesuffix("studio/")
        time.sleep(0.05)
    raise RuntimeError("the studio printed no address")


def _round_trip_ms(sock: socket.socket, port: int, rate: float, seconds: float) -> dict[str, Any]:
    times, lost = round_trips(sock, port, rate, seconds)
    return {**latency_summary(times * 1e3, digits=3), "sent": len(times), "lost": lost}


def live_beside_training(root: Path, size: str, rate: float, seconds: float) -> dict[str, Any]:
    """The filter round trip idle, during a training job of the studio's, and idle again."""
    sock = udp_client()
    studio = _studio(_project(root), sock.getsockname()[1])
    try:
        base = _base_url(studio)
        round_trips(sock, studio.port, rate, 1.0)  # warm-up, not counted
        idle = _round_trip_ms(sock, studio.port, rate, seconds)
        job = _api(base, "POST", "api/train", {"dataset": "lightpad", "size": size, "name": "m"})
        time.sleep(2.0)  # the child starts and imports torch: measured while it trains
        training = _round_trip_ms(sock, studio.port, rate, seconds)
        state = _api(base, "GET", f"api/jobs/{job['job']}")
        if state["state"] == "running":
            _api(base, "DELETE", f"api/jobs/{job['job']}")
        after = _round_trip_ms(sock, studio.port, rate, seconds)
    finally:
        studio.stop()
        sock.close()
    ratios = {
        key: round(training[key] / idle[key], 2)
        for key in ("p50_ms", "p99_ms")
        if idle.get(key) and training.get(key)
    }
    epochs = state.get("epoch")
    return {"idle": idle, "training": training, "idle_after": after, "ratio": ratios,
            "job_state_at_end": state["state"], "epochs_during": epochs}  # fmt: skip


def _scheduled_error_ms(logs: Path, take: str) -> dict[str, Any]:
    errors = np.abs(sidecar_timing(logs, f"{take}-*.foretell.jsonl")) * 1e3
    return {**latency_summary(errors, digits=3), "events": len(errors)}


def _call_then_listen(sock: socket.socket, port: int, seconds: float) -> None:
    """A short phrase of inputs, then silence while the model answers on its own."""
    for i in range(5):
        sock.sendto(encode_floats("/interface", [0.2 * i, 0.5, 0.5]), ("127.0.0.1", port))
        time.sleep(0.02)
    time.sleep(seconds)


def timing_beside_training(root: Path, size: str, seconds: float) -> dict[str, Any]:
    """Scheduled events' timing errors while the model plays alone, idle and while training."""
    sock = udp_client()
    project = _project(root)
    args = ["--port", "0", "--osc-out", f"127.0.0.1:{sock.getsockname()[1]}", "--seed", "0"]
    args += ["--model", str(project / "models" / "bench.ftm"), "--mode", "callresponse"]
    studio = EngineProcess(args, verb=("studio", str(project)))
    try:
        base = _base_url(studio)
        _api(base, "POST", "api/takes/new", {"name": "idle"})
        _call_then_listen(sock, studio.port, seconds)
        _api(base, "POST", "api/takes/new", {"name": "training"})
        job = _api(base, "POST", "api/train", {"dataset": "lightpad", "size": size, "name": "t"})
        time.sleep(2.0)  # as for the round trips: measured while it trains
        _call_then_listen(sock, studio.port, seconds)
        if _api(base, "GET", f"api/jobs/{job['job']}")["state"] == "running":
            _api(base, "DELETE", f"api/jobs/{job['job']}")
        _api(base, "POST", "api/takes/new", {"name": "after"})  # the others are closed
    finally:
        studio.stop()
        sock.close()
    idle = _scheduled_error_ms(project / "logs", "idle")
    training = _scheduled_error_ms(project / "logs", "training")
    ratios = {
        key: round(training[key] / idle[key], 2)
        for key in ("p50_ms", "p99_ms")
        if idle.get(key) and training.get(key)
    }
    return {"idle": idle, "training": training, "ratio": ratios}


@register
@click.command("studio")
@click.option("--starts", default=5, show_default=True, type=click.IntRange(1))
@click.option("--rate", default=100.0, show_default=True, type=click.FloatRange(1, 2000))
@click.option("--duration", default=10.0, show_default=True, type=click.FloatRange(1))
@click.option("--size", default="s", show_default=True, help="Size preset the studio trains.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def studio_bench(starts: int, rate: float, duration: float, size: str, as_json: bool) -> None:
    """How soon foretell studio answers its first input, and its live timing while it trains."""
    with tempfile.TemporaryDirectory(prefix="foretell-bench-studio-") as folder:
        root = Path(folder)
        times = [start_to_first_answer(root / f"start-{i}") for i in range(starts)]
        live = live_beside_training(root / "live", size, rate, duration)
        timing = timing_beside_training(root / "timing", size, duration)
    start = {
        "median": round(statistics.median(times), 3),
        "min": round(min(times), 3),
        "max": round(max(times), 3),
        "runs": len(times),
    }
    result = {
        "machine": machine(),
        "load": Path("/proc/loadavg").read_text().split()[:3],
        "start_to_first_answer_s": start,
        "live": live,
        "timing": timing,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"start to first answer: median {start['median']:.2f} s "
        f"(min {start['min']:.2f}, max {start['max']:.2f}; {starts} starts)"
    )
    for part in ("idle", "training", "idle_after"):
        figures = live[part]
        click.echo(
            f"filter round trip {part}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
            f"({figures['lost']} of {figures['sent']} lost)"
        )
    click.echo(f"training / idle: {live['ratio']} ({live['epochs_during']} epochs meanwhile)")
    for part in ("idle", "training"):
        figures = timing[part]
        click.echo(
            f"model's events |sent - scheduled| {part}: p50 {figures['p50_ms']} ms, p99 "
            f"{figures['p99_ms']} ms ({figures['events']} events)"
        )
    click.echo(f"training / idle: {timing['ratio']}")
