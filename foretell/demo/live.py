"""The live half of ``foretell demo``: a simulated performer and the model answering over OSC.

A real run (``foretell.run.run``) plays in call-and-response on its own thread, listening on a
loopback port. A
simulated performer (``replay``) plays phrases of a real recorded performance to it over UDP and
falls silent between phrases; the engine's ``/prediction`` messages go to a UDP listener here.
Everything crosses real sockets, as it would with an instrument and a synth. The result says how
many phrases the model answered, how soon after the performer stopped, and how punctually its
events were sent. Nothing here prints.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foretell.config import RunConfig, override
from foretell.io.osc_codec import decode_packet
from foretell.perform.replay import replay
from foretell.plotting import pyplot_or_none, save_figure
from foretell.run import Page, Running, RunSummary, run

PHRASE_SECONDS = 3.0
REST_SECONDS = 2.5


@dataclass(frozen=True)
class LiveDemoResult:
    user_times: list[float]  # when each phrase event was sent (s since start)
    model_times: list[float]  # when each /prediction arrived (s since start)
    model_values: list[list[float]]
    phrases: list[tuple[float, float]]  # (start, end) of each phrase, s since start
    timing_ms: dict[str, float | None]  # the instrument's scheduled events' |sent - due| figures
    log_path: str | None
    rest_seconds: float = REST_SECONDS

    def answered_phrases(self) -> int:
        """Phrases after which the model played during the rest that followed."""
        return sum(
            any(end < t < end + self.rest_seconds for t in self.model_times)
            for _, end in self.phrases
        )

    def first_answer_delays(self) -> list[float]:
        """Seconds from each phrase's end to the model's first event in the rest after it."""
        delays = []
        for _, end in self.phrases:
            after = [t - end for t in self.model_times if end < t < end + self.rest_seconds]
            if after:
                delays.append(min(after))
        return delays


class _PredictionListener:
    """Receives ``/prediction`` datagrams on a loopback UDP socket (its own thread)."""

    def __init__(self, start: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.start_time = start
        self.times: list[float] = []
        self.values: list[list[float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            arrived = time.monotonic() - self.start_time
            for _, args in decode_packet(data):
                self.times.append(arrived)
                self.values.append([float(v) for v in args])  # type: ignore[arg-type]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(1.0)
        self.sock.close()


def demo_config(model: Path, log_dir: Path, reply_port: int, threshold: float) -> RunConfig:
    """Call-and-response on loopback: OSC in on a free port, predictions to ``reply_port``."""
    base = RunConfig()
    config = dataclasses.replace(
        base,
        model=dataclasses.replace(base.model, file=model, seed=0),
        interaction=dataclasses.replace(base.interaction, mode="callresponse"),
        osc=dataclasses.replace(
            base.osc, listen_host="127.0.0.1", listen_port=0, send_port=reply_port
        ),
        log=dataclasses.replace(base.log, dir=log_dir),
    )
    return override(config, "interaction", threshold=threshold)  # a live setting's key


def _phrases(
    performance: np.ndarray, count: int, seconds: float = PHRASE_SECONDS
) -> list[np.ndarray]:
    """``count`` consecutive slices of about ``seconds`` each (pauses capped at 0.5 s)."""
    events = performance.copy()
    events[:, 0] = np.minimum(events[:, 0], 0.5)
    bounds = np.searchsorted(np.cumsum(events[:, 0]), seconds * np.arange(1, count + 1))
    starts = np.r_[0, bounds[:-1]]
    return [events[a:b] for a, b in zip(starts, bounds, strict=True) if b > a]


def run_live_demo(
    model: Path,
    performance: np.ndarray,
    log_dir: Path,
    phrases: int = 3,
    threshold: float = 0.4,
    page: Page | None = None,
    on_start: Callable[[Running], None] | None = None,
    keep_going: threading.Event | None = None,
    phrase_seconds: float = PHRASE_SECONDS,
    rest_seconds: float = REST_SECONDS,
) -> LiveDemoResult:
    """Play ``phrases`` phrases of ``performance`` to a live run and record its answers.

    ``page``: serve the dashboard beside it; ``on_start`` is called once the run plays. With
    ``keep_going`` set, phrases repeat until it is cleared (Ctrl-C in the CLI).
    """
    start = time.monotonic()
    listener = _PredictionListener(start)
    listener.thread.start()
    config = demo_config(model, log_dir, listener.port, threshold)
    started: concurrent.futures.Future[Running] = concurrent.futures.Future()

    def playing(running: Running) -> None:
        if on_start is not None:
            on_start(running)
        started.set_result(running)

    with concurrent.futures.ThreadPoolExecutor(1, "foretell-demo-run") as pool:
        finished = pool.submit(run, config, page, on_start=playing)
        try:
            running = _started(started, finished)
            try:
                pieces = _phrases(performance, phrases, phrase_seconds)
                spans, user_times = _perform(pieces, running, start, rest_seconds, keep_going)
            finally:
                running.stop()
            summary = finished.result()
        finally:
            listener.close()
    return LiveDemoResult(
        user_times=user_times,
        model_times=listener.times,
        model_values=listener.values,
        phrases=spans,
        timing_ms=summary.instruments[0].timing_ms,
        log_path=summary.log_path,
        rest_seconds=rest_seconds,
    )


def _perform(
    pieces: list[np.ndarray],
    running: Running,
    start: float,
    rest_seconds: float,
    keep_going: threading.Event | None,
) -> tuple[list[tuple[float, float]], list[float]]:
    """Play each phrase to the run and rest after it (on repeat while ``keep_going`` is set,
    until Ctrl-C); return each phrase's (start, end) and when each event was sent."""
    spans: list[tuple[float, float]] = []
    user_times: list[float] = []
    index = 0
    try:
        while index < len(pieces) or (keep_going is not None and keep_going.is_set()):
            phrase = pieces[index % len(pieces)]
            began = time.monotonic() - start
            replay(phrase, running.osc_address)
            ended = time.monotonic() - start
            spans.append((began, ended))
            user_times += list(began + np.cumsum(phrase[:, 0]))
            time.sleep(rest_seconds)
            index += 1
    except KeyboardInterrupt:
        pass  # Ctrl-C ends the performance; the summary still comes
    return spans, user_times


def _started(
    started: concurrent.futures.Future[Running], finished: concurrent.futures.Future[RunSummary]
) -> Running:
    """The run once it plays; its start-up error, raised here, if it never does."""
    either: list[concurrent.futures.Future[Any]] = [started, finished]
    concurrent.futures.wait(either, return_when=concurrent.futures.FIRST_COMPLETED)
    if not started.done():
        finished.result()  # raises what stopped the start
    return started.result()


def summarise_live(result: LiveDemoResult) -> list[str]:
    """A few lines on what happened, for the CLI."""
    delays = result.first_answer_delays()
    timing = result.timing_ms
    lines = [
        f"live call-and-response over OSC: the performer played {len(result.user_times)} events "
        f"in {len(result.phrases)} phrases; the model answered {result.answered_phrases()} of "
        f"them with {len(result.model_times)} events",
    ]
    if delays:
        lines.append(
            f"  it took over {1000 * float(np.median(delays)):.0f} ms (median) after the "
            "performer stopped (the call-response threshold plus its first predicted dt)"
        )
    p50, p99 = timing.get("p50_ms"), timing.get("p99_ms")
    if p50 is not None and p99 is not None:
        lines.append(
            f"  sent at its predicted times: |sent - due| p50 {p50:.3f} ms, p99 {p99:.3f} ms"
        )
    if result.log_path:
        lines.append(f"  session log: {result.log_path}")
    return lines


def plot_live(path: Path, result: LiveDemoResult, performance: np.ndarray) -> Path | None:
    """Performer (cyan) and model (orange) control values against time; None without matplotlib."""
    plt = pyplot_or_none("call-and-response plot")
    if plt is None:
        return None
    pieces = _phrases(performance, len(result.phrases))
    user = np.concatenate(pieces)[: len(result.user_times)] if pieces else np.empty((0, 2))
    model = np.array(result.model_values) if result.model_values else np.empty((0, 1))
    fig, ax = plt.subplots(figsize=(9, 3.5), dpi=100)
    for begin, end in result.phrases:
        ax.axvspan(begin, end, color="#22d3ee", alpha=0.07)
    if len(user):
        ax.plot(
            result.user_times[: len(user)],
            user[:, 1],
            ".",
            ms=3,
            color="#0891b2",
            label="performer x1",
        )
    if len(model):
        ax.plot(result.model_times, model[:, 0], ".", ms=4, color="#f97316", label="model x1")
    ax.set(xlabel="time (s)", ylabel="control 1", ylim=(-0.05, 1.05), title="call and response")
    ax.legend(loc="upper right", markerscale=3)
    return save_figure(plt, fig, path)
