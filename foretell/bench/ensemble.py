"""``foretell bench ensemble``: many instruments in one ``foretell run``, measured from outside.

The engine runs as its own process with N ``[instrument.NAME]`` sections sharing one random-weight
"s" model (as ``bench live``); this process is N independent OSC peers, one UDP socket each.

- filter: every instrument gets ``/interface`` at ``--rate`` messages/s (phases staggered, so
  N x rate messages/s in all) for ``--duration`` s; each reply's round trip is timed per instrument
  (p50/p99 ms; a reply missing after 100 ms is lost); afterwards every instrument's log is counted
  (every input logged?). Run with batching on and off, alternately (``--runs``), medians reported.
- callresponse: a few inputs to every instrument, then silence: all N play on their own (and again
  with the engine at real-time priority, ``--realtime``, if the OS grants it); the sidecar logs
  give each scheduled event's |sent - scheduled| (timing p50/p99 ms).
- scaling: the filter part for growing N; the largest N whose pooled round trip still meets the
  single-instrument figures (p50 <= 0.25 ms, p99 <= 1 ms).
- step: N separate ``observe`` calls against one stacked step of N voices (``step_together``),
  in-process.

It measures; it asserts nothing. The load average is recorded beside each result.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import (
    REPLY_TIMEOUT,
    STARTUP_TIMEOUT,
    EngineProcess,
    bench_model,
    machine,
    sidecar_timing,
)
from foretell.bench.registry import register
from foretell.io.osc_codec import encode_floats
from foretell.model.fileformat import load_model
from foretell.model.runtime import DenseModel, step_together

FIGURE_P50_MS, FIGURE_P99_MS = 0.25, 1.0
SCALING_STEPS = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64)


def _load() -> float:
    return os.getloadavg()[0]


def _write_config(path: Path, model: Path, ports: list[int], mode: str, batch: bool) -> Path:
    lines = ["[osc]", 'listen_host = "127.0.0.1"', "[model]", "seed = 0", ""]
    for i, port in enumerate(ports):
        lines += [
            f"[instrument.i{i}]",
            f'model = "{model}"',
            f'mode = "{mode}"',
            "listen_port = 0",
            f"send_port = {port}",
            f"batch = {'true' if batch else 'false'}",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


class _EnsembleProcess(EngineProcess):
    """``EngineProcess`` that waits for the ``instrument NAME: OSC in HOST:PORT`` lines."""

    def __init__(self, args: list[str], n: int) -> None:
        self.n = n
        self.ports: dict[int, int] = {}
        super().__init__(args)

    def _wait_for_port(self) -> int:
        assert self.process.stderr is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and len(self.ports) < self.n:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if line.startswith("foretell: instrument i"):
                name, rest = line[len("foretell: instrument ") :].split(": OSC in ", 1)
                self.ports[int(name[1:])] = int(rest.split(",")[0].rsplit(":", 1)[1])
        if len(self.ports) < self.n:
            self.process.kill()
            raise RuntimeError("the ensemble did not start: " + "".join(self.lines)[-2000:])
        return self.ports[0]


class Ensemble:
    """``foretell run --config`` with N instruments in a child process, and its N peers."""

    def __init__(
        self, model: Path, n: int, mode: str, batch: bool, log_dir: Path, realtime: bool = False
    ) -> None:
        self.peers = []
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            self.peers.append(sock)
        ports = [s.getsockname()[1] for s in self.peers]
        config = _write_config(log_dir / "ensemble.toml", model, ports, mode, batch)
        args = ["--config", str(config), "--log-dir", str(log_dir), "--threshold", "0.05"]
        args += ["--realtime"] if realtime else []
        self.process = _EnsembleProcess(args, n)
        self.targets = [("127.0.0.1", self.process.ports[i]) for i in range(n)]

    def close(self) -> None:
        self.process.stop()
        for sock in self.peers:
            sock.close()


def round_trips(ens: Ensemble, rate: float, seconds: float) -> tuple[list[np.ndarray], int, int]:
    """Each peer sends at ``rate`` (staggered); return per-instrument round trips (s), lost and
    superseded inputs.

    A reply answers the newest input its peer has sent; older unanswered inputs of that peer are
    ``superseded`` (filter mode answers only the newest of inputs that queued up while the loop
    was busy; they were still logged and fed). An input neither answered nor superseded within
    100 ms is lost.
    """
    n = len(ens.peers)
    rng = np.random.default_rng(1)
    messages = [encode_floats("/interface", rng.random(3).tolist()) for _ in range(64)]
    count = int(rate * seconds)
    times = [np.full(count, np.nan) for _ in range(n)]
    pending: dict[int, list[tuple[int, float]]] = {i: [] for i in range(n)}
    counts = {"lost": 0, "superseded": 0}
    selector = selectors.DefaultSelector()
    for i, sock in enumerate(ens.peers):
        selector.register(sock, selectors.EVENT_READ, i)
    schedule = sorted((k / rate + i / (rate * n), i, k) for i in range(n) for k in range(count))
    start = time.perf_counter() + 0.05

    def receive(timeout: float) -> None:
        for key, _ in selector.select(max(timeout, 0.0)):
            now = time.perf_counter()
            i = key.data
            try:
                while True:
                    ens.peers[i].recv(65536)
                    if pending[i]:
                        k, sent = pending[i][-1]
                        times[i][k] = now - sent
                        counts["superseded"] += len(pending[i]) - 1
                        pending[i] = []
            except BlockingIOError:
                pass

    for offset, i, k in schedule:
        while (remaining := start + offset - time.perf_counter()) > 0.0002:
            receive(remaining - 0.0002)
        now = time.perf_counter()
        while pending[i] and now - pending[i][0][1] > REPLY_TIMEOUT:
            pending[i].pop(0)
            counts["lost"] += 1
        pending[i].append((k, now))
        ens.peers[i].sendto(messages[k % len(messages)], ens.targets[i])
        receive(0)
    end = time.perf_counter() + REPLY_TIMEOUT
    while any(pending.values()) and time.perf_counter() < end:
        receive(end - time.perf_counter())
    selector.close()
    counts["lost"] += sum(len(v) for v in pending.values())
    return times, counts["lost"], counts["superseded"]


def _logged_inputs(log_dir: Path, n: int) -> list[int]:
    counts = []
    for i in range(n):
        logs = list((log_dir / f"i{i}").glob("*-mdrnn.log"))
        counts.append(sum(line.count(",interface,") for log in logs for line in log.open()))
    return counts


def filter_run(model: Path, n: int, rate: float, seconds: float, batch: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        load = _load()
        ens = Ensemble(model, n, "filter", batch, log_dir)
        try:
            round_trips(ens, rate, 1.0)  # warm-up, not counted
            times, lost, superseded = round_trips(ens, rate, seconds)
        finally:
            ens.close()
        logged = _logged_inputs(log_dir, n)
    sent = int(rate * 1.0) + int(rate * seconds)
    ms = [t[~np.isnan(t)] * 1e3 for t in times]
    pooled = np.concatenate(ms)
    return {
        "instruments": n,
        "batch": batch,
        "load": load,
        "p50_ms": float(np.median(pooled)),
        "p99_ms": float(np.percentile(pooled, 99)),
        "worst_p99_ms": float(max(np.percentile(m, 99) for m in ms)),
        "max_ms": float(pooled.max()),
        "sent": n * sent,
        "lost": lost,
        "superseded": superseded,
        "all_logged": all(c == sent for c in logged),
        "logged": int(sum(logged)),
    }


def callresponse_run(model: Path, n: int, seconds: float, realtime: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        load = _load()
        ens = Ensemble(model, n, "callresponse", True, log_dir, realtime)
        try:
            rng = np.random.default_rng(2)
            for _ in range(10):
                for i, sock in enumerate(ens.peers):
                    sock.sendto(encode_floats("/interface", rng.random(3).tolist()), ens.targets[i])
                time.sleep(0.01)
            end = time.monotonic() + seconds
            while time.monotonic() < end:  # drain the peers so nothing backs up
                time.sleep(0.05)
                for sock in ens.peers:
                    try:
                        while sock.recv(65536):
                            pass
                    except BlockingIOError:
                        pass
        finally:
            ens.close()
        errors = np.abs(_sidecar_timing_all(log_dir)) * 1e3
    if len(errors) == 0:
        return {"instruments": n, "load": load, "generated": 0}
    return {
        "instruments": n,
        "realtime": realtime,
        "load": load,
        "timing_p50_ms": float(np.median(errors)),
        "timing_p99_ms": float(np.percentile(errors, 99)),
        "timing_max_ms": float(errors.max()),
        "generated": len(errors),
    }


def _sidecar_timing_all(log_dir: Path) -> np.ndarray:
    parts = [sidecar_timing(folder) for folder in log_dir.iterdir() if folder.is_dir()]
    return np.concatenate(parts) if parts else np.array([])


def step_run(model: Path, n: int, repeats: int = 2000) -> dict[str, Any]:
    """Microseconds for n separate steps vs one batched step of n (same weights)."""
    dense = DenseModel(load_model(model))
    voices = [dense.voice(np.random.default_rng(i)) for i in range(n)]
    events = [np.array([0.03, 0.2, 0.5, 0.8]) for _ in range(n)]
    timings = {}
    for name, step in (
        ("separate", lambda: [v.observe(e) for v, e in zip(voices, events, strict=True)]),
        ("batched", lambda: step_together(dense, voices, events)),
    ):
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            step()
            samples.append(time.perf_counter() - t0)
        timings[name] = float(np.median(samples) * 1e6)
    return {
        "instruments": n,
        "separate_us": timings["separate"],
        "batched_us": timings["batched"],
        "speedup": timings["separate"] / timings["batched"],
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(np.median([r[key] for r in runs]))


def _meets(run: dict[str, Any]) -> bool:
    return bool(
        run["p50_ms"] <= FIGURE_P50_MS and run["p99_ms"] <= FIGURE_P99_MS and run["lost"] == 0
    )


def scaling_search(model: Path, rate: float, seconds: float, repeats: int = 3) -> dict[str, Any]:
    """Grow N (median of ``repeats`` runs each) until the median round trip passes 1 ms.

    ``largest_meeting``: the largest N meeting the single-instrument figures (p50 <= 0.25 ms,
    p99 <= 1 ms, none lost); ``largest_p99_2ms``: the largest meeting p50 <= 0.25 ms and the
    ensemble's p99 <= 2 ms.
    """
    steps, largest, largest_2ms = [], 0, 0
    for n in SCALING_STEPS:
        runs = [filter_run(model, n, rate, seconds, batch=True) for _ in range(repeats)]
        run = {k: _median(runs, k) for k in ("p50_ms", "p99_ms", "worst_p99_ms", "load")}
        run.update(instruments=n, lost=sum(r["lost"] for r in runs))
        run["meets"] = _meets(run)
        steps.append(run)
        largest = n if run["meets"] else largest
        if run["p50_ms"] <= FIGURE_P50_MS and run["p99_ms"] <= 2.0 and run["lost"] == 0:
            largest_2ms = n
        if run["p50_ms"] > 1.0 or run["lost"] > 0:
            break
    return {"largest_meeting": largest, "largest_p99_2ms": largest_2ms, "steps": steps}


@register
@click.command()
@click.option("--instruments", "n", default=16, show_default=True, help="Instruments.")
@click.option("--rate", default=50.0, show_default=True, help="Messages/s per instrument.")
@click.option("--duration", default=10.0, show_default=True, help="Seconds per filter run.")
@click.option("--runs", default=3, show_default=True, help="Alternating batch on/off runs.")
@click.option("--scaling/--no-scaling", default=True, help="Search the largest N (slow).")
@click.option("--scaling-duration", default=5.0, show_default=True, help="Seconds per N.")
@click.option("--out", type=click.Path(path_type=Path), help="Also write the results as JSON.")
def ensemble(
    n: int,
    rate: float,
    duration: float,
    runs: int,
    scaling: bool,
    scaling_duration: float,
    out: Path | None,
) -> None:
    """N instruments in one engine: round trip, timing, batching gain, how far it scales."""
    with tempfile.TemporaryDirectory() as tmp:
        model = bench_model(Path(tmp) / "bench-s.ftm")
        result: dict[str, Any] = {"machine": machine(), "load_start": _load()}
        result["step"] = [step_run(model, k) for k in (2, 4, 8, 16)]
        pairs = [
            (
                filter_run(model, n, rate, duration, True),
                filter_run(model, n, rate, duration, False),
            )
            for _ in range(runs)
        ]
        result["filter"] = {
            label: {
                **{
                    k: _median([p[j] for p in pairs], k)
                    for k in ("p50_ms", "p99_ms", "worst_p99_ms", "max_ms", "load")
                },
                "lost": sum(p[j]["lost"] for p in pairs),
                "superseded": sum(p[j]["superseded"] for p in pairs),
                "all_logged": all(p[j]["all_logged"] for p in pairs),
                "runs": [p[j] for p in pairs],
            }
            for j, label in ((0, "batch"), (1, "no_batch"))
        }
        result["callresponse"] = callresponse_run(model, n, duration, False)
        result["callresponse_realtime"] = callresponse_run(model, n, duration, True)
        if scaling:
            result["scaling"] = scaling_search(model, rate, scaling_duration)
        result["load_end"] = _load()
    text = json.dumps(result, indent=2)
    if out is not None:
        out.write_text(text)
    click.echo(text)
