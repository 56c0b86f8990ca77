"""``foretell bench stall``: does the studio's heaviest work stall the show?

One ``foretell studio`` plays a benchmark model (dimension 4) in filter mode, with a take of
``--rows`` rows (1,000,000 by default, ~50 MB) in its ``logs/``. For each heavy action of the
studio, the filter round trip (``/interface`` out, ``/prediction`` back, over real UDP) runs at
``--rate`` per second for ``--window`` seconds, the action starting 0.2 s in:

- ``status``: the first ``GET /api/status``, then ``GET /api/takes`` (which scans every take);
- ``rename``: ``POST /api/takes/big/rename``;
- ``plot``: ``GET /api/takes/NAME/plot`` of the big take;
- ``dataset``: ``POST /api/datasets`` built from the big take;
- ``upload``: ``POST /api/models/upload`` of a 512-unit model (~8 MB);
- ``import``: the upload of an IMPSY ``.h5`` (only with /work/shared's models, else skipped);
- ``plots8``: eight plots at once, each of a take of its own (eight pages, eight takes: the
  studio draws each; the takes are hard links to the big one, made just before);
- ``plots8same``: eight plots of one take at once (eight pages, one take: drawn once);
- ``load``: ``POST /api/perform`` of another model of the same size while eight plots of eight
  more takes run: the seconds until it plays (it answers then).

At the end, what the engine itself says of its loop's wake-ups (``foretell.perform.lateness``),
and the studio's peak resident memory (``VmHWM``: the goal is under 400 MB whatever is uploaded).

Each action reports the round trips' p50/p99/max (ms) and how many answers were lost, the
seconds the action took, and how long the show's thread (the studio's main thread) was ready to
run but waited for a core during the window (``waited_ms``, from ``/proc``'s ``schedstat``: what
the machine's scheduler, not the GIL, cost the show); the machine's load average is printed
beside them. ``--foretell``
runs another installation's ``foretell`` (e.g. main's) under the same bench, for comparison;
``--realtime`` starts the studio with ``--realtime`` (the show's thread at ``SCHED_FIFO``: on a
machine busy with other work, what the studio itself costs the show stands out from the rest).

It measures and reports; it asserts nothing.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as _dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import bench_model, latency_summary, machine, round_trips, udp_client
from foretell.bench.registry import register
from foretell.perform.show_loop import GIL_SWITCH_S

IMPSY_H5 = Path(
    "/work/shared/data/impsy-models/musicMDRNN-dim4-layers2-units64-mixtures5-scale10.h5"
)
STARTUP_S = 60.0
ACTION_START_S = 0.2
GOALS = {"p99_ms": 5.0, "max_ms": 25.0, "load_s": 1.0, "peak_rss_mb": 400}


def write_take(path: Path, rows: int, controls: int = 3) -> None:
    """A take of ``rows`` rows in IMPSY's log format (the performer's and the model's)."""
    rng = np.random.default_rng(0)
    start = _dt.datetime(2026, 1, 1, 12, 0, 0)
    chunk = 100_000
    with path.open("w", encoding="utf-8") as out:
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            values = rng.random((n, controls))
            lines = []
            for i in range(n):
                stamp = (start + _dt.timedelta(milliseconds=20 * (first + i))).isoformat(
                    timespec="microseconds"
                )
                source = "interface" if (first + i) % 2 == 0 else "rnn"
                lines.append(
                    f"{stamp},{source},{values[i, 0]:.6f},{values[i, 1]:.6f},{values[i, 2]:.6f}\n"
                )
            out.write("".join(lines))


class Studio:
    """``FORETELL studio PROJECT`` in a child process, its OSC port and page address read from
    what it prints."""

    def __init__(
        self,
        foretell: list[str],
        project: Path,
        out_port: int,
        model: Path,
        options: tuple[str, ...] = (),
    ) -> None:
        command = [*foretell, "studio", str(project), "--port", "0", "--osc-in", "127.0.0.1:0"]
        command += list(options)
        command += ["--osc-out", f"127.0.0.1:{out_port}", "--seed", "0"]
        command += ["--model", str(model), "--mode", "filter"]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.port, self.base = self._addresses()
        threading.Thread(target=self._drain, daemon=True).start()

    def _addresses(self) -> tuple[int, str]:
        assert self.process.stderr is not None
        port = base = None
        deadline = time.monotonic() + STARTUP_S
        while (port is None or base is None) and time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            if "listening for OSC on" in line:
                port = int(line.split("listening for OSC on ", 1)[1].split(",")[0].rsplit(":")[1])
            if "studio at " in line:
                base = line.split("studio at ", 1)[1].split()[0].removesuffix("studio/")
        if port is None or base is None:
            self.process.kill()
            raise RuntimeError("the studio did not start: " + "".join(self.lines)[-2000:])
        return port, base

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def request(self, method: str, path: str, body: bytes | None = None, kind: str = "") -> int:
        """One request to the API; its status (the answer is read and dropped)."""
        headers = {"Content-Type": kind} if kind else {}
        request = urllib.request.Request(self.base + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.read()
            return int(error.code)
        except OSError:  # refused, reset or timed out: no status
            return 0

    def post_json(self, path: str, body: dict[str, Any]) -> int:
        return self.request("POST", path, json.dumps(body).encode(), "application/json")

    def peak_rss_mb(self) -> float | None:
        """The studio's peak resident memory so far (MB; None where /proc cannot say)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None

    def show_waited_ms(self) -> float | None:
        """How long the studio's main thread (the show's) has been ready to run but waiting for
        a core so far (ms; None where ``/proc`` cannot say)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/schedstat").read_text().split()
            return int(fields[1]) / 1e6
        except (OSError, IndexError, ValueError):
            return None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def linked_takes(logs: Path, take: str, prefix: str, count: int) -> list[str]:
    """``count`` more names for the take ``take`` (hard links: no copy), each plotted apart."""
    names = [f"{prefix}{i}" for i in range(count)]
    for name in names:
        os.link(logs / f"{take}-4d-mdrnn.log", logs / f"{name}-4d-mdrnn.log")
    return names


def plots_of(studio: Studio, takes: list[str]) -> Callable[[], int]:
    """The plots of ``takes``, all at once; the worst status."""

    def plot(take: str) -> int:
        return studio.request("GET", f"api/takes/{take}/plot")

    def run() -> int:
        with concurrent.futures.ThreadPoolExecutor(len(takes)) as pool:
            return max(pool.map(plot, takes))

    return run


def measured(
    studio: Studio, sock: Any, rate: float, window: float, action: Callable[[], int]
) -> dict[str, Any]:
    """Round trips for ``window`` s with ``action`` started ``ACTION_START_S`` in (on a thread)."""
    result: dict[str, Any] = {}

    def act() -> None:
        time.sleep(ACTION_START_S)
        began = time.perf_counter()
        try:
            result["status"] = action()
        except Exception as exc:  # reported, not raised: the round trips are the measurement
            result["status"] = f"{type(exc).__name__}: {exc}"[:200]
        result["took_s"] = round(time.perf_counter() - began, 3)

    worker = threading.Thread(target=act)
    waited_before = studio.show_waited_ms()
    worker.start()
    times, lost = round_trips(sock, studio.port, rate, window)
    worker.join()
    waited_after = studio.show_waited_ms()
    if waited_before is not None and waited_after is not None:
        result["waited_ms"] = round(waited_after - waited_before, 1)
    return {**latency_summary(times * 1e3, digits=3), "sent": len(times), "lost": lost, **result}


def run_bench(
    foretell: list[str],
    root: Path,
    rows: int,
    rate: float,
    window: float,
    options: tuple[str, ...] = (),
) -> dict[str, Any]:
    from foretell.project.layout import init_project

    project = init_project(root / "project", 4)
    model = bench_model(project.folder("models") / "bench.ftm")
    bench_model(project.folder("models") / "alt.ftm")  # what ``load`` plays: the same size
    upload = bench_model(root / "big.ftm", units=512)
    write_take(project.folder("logs") / "big-4d-mdrnn.log", rows)
    sock = udp_client()
    studio = Studio(foretell, root / "project", sock.getsockname()[1], model, options)
    logs = project.folder("logs")
    plot = lambda: studio.request("GET", "api/takes/big2/plot")  # noqa: E731
    actions: list[tuple[str, Callable[[], int]]] = [
        (
            "status",
            lambda: max(studio.request("GET", "api/status"), studio.request("GET", "api/takes")),
        ),
        ("rename", lambda: studio.post_json("api/takes/big/rename", {"name": "big2"})),
        ("plot", plot),
        ("dataset", lambda: studio.post_json("api/datasets", {"name": "d1", "takes": ["big2"]})),
        (
            "upload",
            lambda: studio.request(
                "POST",
                "api/models/upload?name=up.ftm",
                upload.read_bytes(),
                "application/octet-stream",
            ),
        ),
    ]
    if IMPSY_H5.is_file():
        actions.append(
            (
                "import",
                lambda: studio.request(
                    "POST",
                    f"api/models/upload?name={IMPSY_H5.name}",
                    IMPSY_H5.read_bytes(),
                    "application/octet-stream",
                ),
            )
        )
    figures: dict[str, Any] = {}
    try:
        round_trips(sock, studio.port, rate, 1.0)  # warm-up, not counted
        figures["idle"] = measured(studio, sock, rate, window, lambda: 0)
        for name, action in actions:
            figures[name] = measured(studio, sock, rate, window, action)
        plots = plots_of(studio, linked_takes(logs, "big2", "eight", 8))
        figures["plots8"] = measured(studio, sock, rate, window, plots)
        plots = plots_of(studio, linked_takes(logs, "big2", "same", 1) * 8)
        figures["plots8same"] = measured(studio, sock, rate, window, plots)
        plots = plots_of(studio, linked_takes(logs, "big2", "more", 8))
        figures["load"] = load_beside_plots(studio, sock, rate, window, plots)
        figures["studio_peak_rss_mb"] = studio.peak_rss_mb()
    finally:
        studio.stop()
        sock.close()
    woke = [line.strip() for line in studio.lines if "show's loop woke" in line]
    figures["engine_says"] = woke[0].removeprefix("foretell: ") if woke else None
    said = [line.strip() for line in studio.lines if not line.startswith("foretell: ")]
    figures["studio_said"] = said[-20:] or None  # anything but its own lines: an error, a trace
    return figures


def load_beside_plots(
    studio: Studio, sock: Any, rate: float, window: float, plots: Callable[[], int]
) -> dict[str, Any]:
    """``POST /api/perform`` of another model while ``plots`` run."""
    timing: dict[str, Any] = {}

    def load() -> int:
        plots_running = threading.Thread(target=plots)
        plots_running.start()
        time.sleep(0.05)  # the plots are on their way
        began = time.perf_counter()
        status = studio.post_json("api/perform", {"model": "alt", "mode": "filter"})
        timing["load_s"] = round(time.perf_counter() - began, 3)
        plots_running.join()
        return status

    return {**measured(studio, sock, rate, window, load), **timing}


@register
@click.command("stall")
@click.option("--rows", default=1_000_000, show_default=True, type=click.IntRange(1000))
@click.option("--rate", default=200.0, show_default=True, type=click.FloatRange(1, 2000))
@click.option("--window", default=4.0, show_default=True, type=click.FloatRange(1))
@click.option(
    "--foretell",
    "foretell_path",
    type=click.Path(path_type=Path),
    help="Another installation's foretell command to bench (default: this one).",
)
@click.option(
    "--realtime", is_flag=True, help="Run the studio with --realtime (the show at SCHED_FIFO)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stall_bench(
    rows: int,
    rate: float,
    window: float,
    foretell_path: Path | None,
    realtime: bool,
    as_json: bool,
) -> None:
    """Filter round trips while the studio does each heavy action on a big take."""
    foretell = [str(foretell_path)] if foretell_path else [sys.executable, "-m", "foretell"]
    # the bench's own threads (eight plots' requests) would hold its GIL for up to 5 ms while an
    # answer waits to be read: its own stall, not the studio's
    sys.setswitchinterval(GIL_SWITCH_S)
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="foretell-bench-stall-") as folder:
        options = ("--realtime",) if realtime else ()
        if realtime:  # the bench's own client too, or its waits would be the figure
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        figures = run_bench(foretell, Path(folder), rows, rate, window, options)
    result = {
        "machine": machine(),
        "foretell": " ".join(foretell),
        "rows": rows,
        "rate": rate,
        "realtime": realtime,
        "load_before": load_before,
        "load_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "goals": GOALS,
        "actions": figures,
    }
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{result['foretell']}: {rows} rows, {rate:g}/s; "
        f"load average {load_before} before, {result['load_after']} after"
    )
    for name, f in figures.items():
        if not isinstance(f, dict):
            click.echo(f"{name}: {f}")
            continue
        extra = f" load {f['load_s']} s" if "load_s" in f else ""
        extra += f"; the show waited {f['waited_ms']} ms for a core" if "waited_ms" in f else ""
        click.echo(
            f"{name:10s} p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, max {f['max_ms']} ms, "
            f"lost {f['lost']}/{f['sent']}; action {f.get('status')} in {f.get('took_s')} s{extra}"
        )
