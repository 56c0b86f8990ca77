"""Learning while playing, measured: live timing during fine-tunes, the swap, and what is learned.

- ``learning_run`` (``foretell bench live --learn``): the filter round trip and the call-response
  timing of a ``foretell run --learn every=1s`` engine, whose learner fine-tunes back to back on
  the session's log and the bundled set. The engine's sidecar notes when each fine-tune starts and
  ends (its monotonic clock, which the client shares), so the figures are also given for the
  moments a fine-tune was running; the swap times come from the same sidecar.
- ``style_run`` (``foretell bench learn-style``): a held-out LightPad performance (one of the 100k
  set's that is not in the bundled 12k) is replayed into an in-process engine faster than real
  time (a ``FakeClock`` carries its own intervals into the log) for ``minutes`` of its time, with
  the learner fine-tuning every ``every`` events; then the NLL of the starting model and of the
  learned one on the rest of that performance (held out).

It measures; it asserts nothing. (``foretell.bench.live`` imports this module, which registers
``learn-style``; the engine process and the client come from ``foretell.bench.harness``.)
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import discard, engine, latency_summary, udp_client, wait_until
from foretell.bench.registry import register
from foretell.data.dataset import Dataset, bundled_dataset_path, load_dataset
from foretell.io.osc_codec import decode_packet, encode_floats

LEARN_ARGS = ("--learn", "every=1s")


def _learn_args(root: Path) -> tuple[str, ...]:
    data = str(bundled_dataset_path())
    return (*LEARN_ARGS, "--learn-data", data, "--models-dir", str(root / "models"))


def _sidecar(log_dir: Path) -> list[dict[str, Any]]:
    records = []
    for path in log_dir.glob("*.foretell.jsonl"):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return records


def _busy(records: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """The (start, end) monotonic times of every fine-tune (an unfinished one ends at +inf)."""
    spans, start = [], None
    for record in records:
        if record.get("kind") == "learn" and record["state"] == "start":
            start = record["t"]
        elif record.get("kind") == "learn" and start is not None:
            spans.append((start, record["t"]))
            start = None
    if start is not None:
        spans.append((start, float("inf")))
    return spans


def _during(times: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    inside = np.zeros(len(times), bool)
    for start, end in spans:
        inside |= (times >= start) & (times <= end)
    return inside


def _stats(prefix: str, ms: np.ndarray) -> dict[str, float | None]:
    return latency_summary(ms, prefix, with_max=False)


def _learning(records: list[dict[str, Any]]) -> dict[str, Any]:
    ends = [r for r in records if r.get("kind") == "learn" and r["state"] == "end"]
    swaps = [r["swap_ms"] for r in records if r.get("kind") == "model" and "swap_ms" in r]
    return {
        "fine_tunes": len(ends),
        "swaps": len(swaps),
        "swap_ms_median": float(np.median(swaps)) if swaps else None,
        "swap_ms_max": float(np.max(swaps)) if swaps else None,
    }


def timed_round_trips(
    sock: socket.socket, port: int, rate: float, seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """Send at ``rate`` for ``seconds``, each reply awaited: (send times, round trips in s)."""
    rng = np.random.default_rng(1)
    messages = [encode_floats("/interface", rng.random(3).tolist()) for _ in range(256)]
    count = int(rate * seconds)
    sent_at, times = np.full(count, np.nan), np.full(count, np.nan)
    sock.settimeout(0.1)
    start = time.perf_counter() + 0.05
    for i in range(count):
        wait_until(start + i / rate)
        discard(sock)
        sent_at[i] = time.monotonic()
        sent = time.perf_counter()
        sock.sendto(messages[i % len(messages)], ("127.0.0.1", port))
        try:
            sock.recv(65536)
        except TimeoutError:
            continue
        times[i] = time.perf_counter() - sent
    return sent_at, times


def learning_filter_run(
    model: Path, rate: float, seconds: float, root: Path, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Filter round trip while the learner fine-tunes (all of it, and inside fine-tunes only)."""
    sock = udp_client()
    log_dir = root / "logs"
    args = (*_learn_args(root), *extra)
    with engine(model, "filter", sock.getsockname()[1], log_dir, *args) as proc:
        timed_round_trips(sock, proc.port, rate, 2.0)  # enough events for the first fine-tune
        sent_at, times = timed_round_trips(sock, proc.port, rate, seconds)
    sock.close()
    records = _sidecar(log_dir)
    inside = _during(sent_at, _busy(records))
    return {
        **_stats("learn_", times * 1e3),
        **_stats("learn_busy_", times[inside] * 1e3),
        "learn_busy_fraction": float(inside.mean()),
        "learn_lost": int(np.isnan(times).sum()),
        **_learning(records),
    }


def learning_callresponse_run(
    model: Path, seconds: float, root: Path, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Call-response timing while the learner fine-tunes (150 inputs, then the model plays)."""
    sock = udp_client()
    log_dir = root / "logs"
    rng = np.random.default_rng(2)
    args = ("--threshold", "0.05", *_learn_args(root), *extra)
    with engine(model, "callresponse", sock.getsockname()[1], log_dir, *args) as proc:
        for _ in range(150):
            message = encode_floats("/interface", rng.random(3).tolist())
            sock.sendto(message, ("127.0.0.1", proc.port))
            time.sleep(0.01)
        sock.settimeout(0.2)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(TimeoutError):
                decode_packet(sock.recv(65536))
    sock.close()
    records = _sidecar(log_dir)
    timing = [r for r in records if r.get("kind") == "timing"]
    errors = np.array([abs(r["sent"] - r["scheduled"]) for r in timing]) * 1e3
    scheduled = np.array([r["scheduled"] for r in timing])
    inside = _during(scheduled, _busy(records)) if len(timing) else np.zeros(0, bool)
    return {
        **_stats("learn_timing_", errors),
        **_stats("learn_timing_busy_", errors[inside]),
        "learn_timing_events": len(errors),
        "learn_timing_busy_events": int(inside.sum()),
    }


def learning_run(
    model: Path,
    rate: float,
    seconds: float,
    generate: float,
    root: Path,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Both parts (``foretell bench live --learn``); ``extra``: more ``foretell run`` options."""
    result = learning_filter_run(model, rate, seconds, root / "filter", extra)
    crossed = learning_callresponse_run(model, generate, root / "cr", extra)
    return {**result, **crossed}


LEARN_KEYS = (
    "learn_p50_ms",
    "learn_p99_ms",
    "learn_busy_p50_ms",
    "learn_busy_p99_ms",
    "learn_busy_fraction",
    "learn_timing_p50_ms",
    "learn_timing_p99_ms",
    "learn_timing_busy_p50_ms",
    "learn_timing_busy_p99_ms",
    "fine_tunes",
    "swaps",
    "swap_ms_median",
    "swap_ms_max",
)


def describe(summary: dict[str, Any]) -> list[str]:
    """Lines for ``foretell bench live --learn``."""

    def f(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:.3f}"

    return [
        f"while learning (every 1 s, {f('fine_tunes')} fine-tunes, {f('swaps')} swaps): "
        f"round trip p50 {f('learn_p50_ms')} ms, p99 {f('learn_p99_ms')} ms; "
        f"inside fine-tunes ({f('learn_busy_fraction')} of the time) "
        f"p50 {f('learn_busy_p50_ms')} ms, p99 {f('learn_busy_p99_ms')} ms",
        f"callresponse timing while learning: p50 {f('learn_timing_p50_ms')} ms, "
        f"p99 {f('learn_timing_p99_ms')} ms; inside fine-tunes p50 "
        f"{f('learn_timing_busy_p50_ms')} ms, p99 {f('learn_timing_busy_p99_ms')} ms",
        f"swap (engine side): median {f('swap_ms_median')} ms, max {f('swap_ms_max')} ms",
    ]


# -- a new style ------------------------------------------------------------------------------


def held_out_performance(big: Dataset, bundled: Dataset, minutes: float) -> int:
    """The longest performance of ``big`` that is not in ``bundled`` and outlasts ``minutes``."""
    known = {p.tobytes() for p in bundled.performances}
    fresh = [
        (float(p[:, 0].sum()), i)
        for i, p in enumerate(big.performances)
        if p.tobytes() not in known and p[:, 0].sum() > 60 * minutes * 1.5
    ]
    return max(fresh)[1]


def _nll(model_path: Path, performance: np.ndarray) -> float:
    from foretell.model.protocol import load_voice
    from foretell.model.trace import trace_performance

    _, nll = trace_performance(load_voice(model_path, 0), performance)
    return float(nll.mean())


def style_run(
    model: Path, big_path: Path, minutes: float, every: int, root: Path, index: int | None = None
) -> dict[str, Any]:
    """Replay ``minutes`` of a new-style performance into an engine that learns; NLL after."""
    from foretell.clock import FakeClock
    from foretell.config.learn import FinetuneConfig, LearnConfig
    from foretell.config.schedule import LearnSchedule
    from foretell.data.log import LogWriter
    from foretell.io.base import ListSink
    from foretell.learn.coordinator import Learner
    from foretell.model.protocol import load_voice
    from foretell.perform.engine import Engine
    from foretell.perform.instrument import Instrument, Settings
    from foretell.perform.listeners import Listeners
    from foretell.perform.scheduler import Scheduler

    big = load_dataset(big_path)
    if index is None:
        index = held_out_performance(big, load_dataset(bundled_dataset_path()), minutes)
    perf = big.performances[index]
    cut = int(np.searchsorted(np.cumsum(perf[:, 0]), 60 * minutes))
    session, rest = perf[:cut], perf[cut:]
    clock, sink = FakeClock(), ListSink()
    hub = Listeners()
    inst = Instrument(
        "main",
        Settings(mode="filter"),
        clock,
        Scheduler(clock),
        [sink],
        runtime=load_voice(model, 0),
        log_writer=LogWriter(root / "logs", clock),
        listeners=[hub],
    )
    posted: queue.Queue[Callable[[], None]] = queue.Queue()
    config = LearnConfig(
        LearnSchedule("events", every),
        root / "models",
        bundled_dataset_path(),
        FinetuneConfig(max_seconds=120),
    )
    learner = Learner(config, inst, clock, post=posted.put)
    eng = Engine(clock, inst.scheduler, [inst], sinks=[sink], services=[learner], listeners=hub)
    eng.start()  # the learner too
    started = time.perf_counter()
    for row in session:
        clock.advance(float(row[0]))
        inst.on_input([float(v) for v in row[1:]])
        while learner.state == "training":  # live, a fine-tune ends long before the next is due
            posted.get()()
    replay_seconds = time.perf_counter() - started
    learner.request("end of session")
    while learner.state == "training":
        posted.get()()
    eng.stop()
    final = learner.store.directory / f"v{learner.current:03d}.ftm"
    before, after = _nll(model, rest), _nll(final, rest)
    return {
        "performance": index,
        "session_events": len(session),
        "session_minutes": minutes,
        "held_out_events": len(rest),
        "replay_seconds": round(replay_seconds, 1),
        "fine_tunes": learner.counts["fine_tunes"],
        "accepted": learner.counts["accepted"],
        "version": learner.current,
        "nll_start": before,
        "nll_learned": after,
        "nll_gain": before - after,
        "last": learner.last,
    }


@register
@click.command("learn-style")
@click.option(
    "--model",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="The starting model (trained on the bundled LightPad 12k set).",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="The LightPad 100k set (its performances not in the 12k set are new).",
)
@click.option("--minutes", default=5.0, show_default=True, help="Minutes of session replayed.")
@click.option("--every", default=2000, show_default=True, help="Fine-tune every N user events.")
@click.option("--performance", type=int, help="Which performance [default: the longest new one].")
def learn_style(
    model: Path, data: Path, minutes: float, every: int, performance: int | None
) -> None:
    """NLL on a new style's held-out part before and after a session of learning while playing."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="foretell-learn-") as tmp:
        result = style_run(model, data, minutes, every, Path(tmp), performance)
    result["load_average"] = os.getloadavg()
    click.echo(json.dumps(result, default=str))
