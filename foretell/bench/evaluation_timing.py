"""Parts 2 and 3 of ``foretell bench all``: time per prediction against dimension and units (the
paper's Figs. 8, 9), and the OSC round trip and event timing of the engine measured from outside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from foretell.bench.evaluation_setup import (
    IMPSY_KERAS_MS,
    IMPSY_TFLITE_MS,
    PAPER_PREDICT_MS,
    Report,
)


def part_prediction(report: Report) -> None:
    """``bench_predict`` over dimensions (64 units) and units (dimension 4), plus xl."""
    from foretell.bench.figures import plot_prediction_times
    from foretell.bench.predict import bench_predict

    profile = report.profile
    jobs = [("dim", 64, d, 2) for d in profile.dims]
    jobs += [("units", u, 4, 2) for u in profile.units_sweep]
    jobs += [("xl", 512, 4, 3)] if profile.xl else []
    rows: dict[str, list[dict[str, Any]]] = {"dim": [], "units": [], "xl": []}
    if profile.torch_threads is not None:
        import torch

        torch.set_num_threads(profile.torch_threads)
    measured: dict[tuple[int, int, int], dict[str, Any]] = {}  # 2 x 64, dim 4 is in both sweeps
    for kind, units, dim, layers in tqdm(
        jobs, desc="time per prediction", disable=not report.progress
    ):
        key = (units, dim, layers)
        if key not in measured:
            measured[key] = bench_predict(units, dim, layers, steps=profile.predict_steps)
        rows[kind].append(measured[key])
    references = {
        "paper (laptop), 64 units": PAPER_PREDICT_MS[64],
        "paper, 512 units": PAPER_PREDICT_MS[512],
        "IMPSY Keras, this machine": IMPSY_KERAS_MS,
        "IMPSY TFLite 64, this machine": IMPSY_TFLITE_MS[64],
        "IMPSY TFLite 512, this machine": IMPSY_TFLITE_MS[512],
    }
    path = plot_prediction_times(
        rows["dim"], rows["units"], references, report.out / "prediction-time.png"
    )
    report.figure(
        path, "prediction", "Time per prediction vs dimension and vs units (paper Figs. 8, 9)"
    )
    report.results["prediction"] = {
        "steps": profile.predict_steps,
        "by_dim": rows["dim"],
        "by_units": rows["units"],
        "xl": rows["xl"],
        "references_ms": references,
    }


def part_live(report: Report, tmp: Path) -> None:
    """Round trips in filter mode (raw times kept), callresponse timing, the bare echo floor."""
    from foretell.bench import harness, live
    from foretell.bench.figures import plot_live

    profile = report.profile
    model = harness.bench_model(tmp / "s.ftm")
    steps = tqdm(
        total=3 if profile.live_echo else 2, desc="live (OSC)", disable=not report.progress
    )
    with (
        harness.udp_client() as sock,
        harness.engine(model, "filter", sock.getsockname()[1], tmp / "filter") as proc,
    ):
        warm_up = min(1.0, profile.live_seconds)
        harness.round_trips(sock, proc.port, profile.live_rate, warm_up)  # not counted
        times, lost = harness.round_trips(sock, proc.port, profile.live_rate, profile.live_seconds)
    steps.update(1)
    round_trip = times[~np.isnan(times)] * 1e3
    callresponse = live.callresponse_run(model, profile.live_generate_s, tmp / "cr")
    timing = np.abs(harness.sidecar_timing(tmp / "cr")) * 1e3
    steps.update(1)
    echo = live.echo_run(profile.live_rate, profile.live_seconds) if profile.live_echo else {}
    steps.update(1 if profile.live_echo else 0)
    steps.close()
    path = plot_live(round_trip, echo, timing, report.out / "live-latency.png")
    report.figure(path, "live", "OSC round trip (filter mode) and timing of scheduled events")
    report.results["live"] = {
        "model": "s (2 x 64 LSTM, 5 mixtures), dimension 4, random weights",
        "rate": profile.live_rate,
        "seconds": profile.live_seconds,
        "sent": len(times),
        "lost": lost,
        "round_trip": harness.latency_summary(round_trip, digits=4),
        "timing": harness.latency_summary(timing, digits=4)
        | {"generated": len(timing), "received": callresponse.get("received")},
        "echo": echo or None,
    }
