"""``foretell bench fuzz``: a long fuzz campaign against a live ``foretell run`` over real UDP.

The engine runs as its own process (filter mode, a random-weight "s" model, logging). A
"stranger" socket sends ``--datagrams`` mutated datagrams (``foretell.bench.mutations``, seeded)
in batches; after each batch the "musician" (another loopback address, so the stranger's command
flood does not rate-limit it) resets pause and mode, turns thru on and sends one valid input: its
echo, then the model's answer, are awaited (a probe the kernel dropped from a full socket buffer
is sent again, and counted). Reported: datagrams sent, valid inputs answered and logged, the
engine's slowest wake-up (its stop line), its resident memory at start and end, the bytes it
wrote to stderr, and whether it stopped cleanly. Goals: zero hangs and crashes, every valid
input answered and logged, slowest wake-up under 5 ms, stderr under 100 kB. It measures; it
asserts nothing.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import EngineProcess, bench_model, machine
from foretell.bench.mutations import datagrams, message
from foretell.bench.registry import register
from foretell.data.log import read_log
from foretell.io.osc_codec import decode_packet, encode_floats

PROBE = [0.123, 0.456, 0.789]  # many bits from any seed's values: no mutant equals it
RESET = (
    encode_floats("/foretell/pause", [0.0]),
    encode_floats("/foretell/thru", [1.0]),  # the probe comes back verbatim, then its answer
    message("/foretell/mode", "s", b"filter\0\0"),
)
ANSWER_TIMEOUT = 2.0  # seconds for the echo and the answer (the batch ahead is decoded first)
ATTEMPTS = 5  # a probe the kernel dropped (the socket buffer was full of mutants) is sent again


def probe(sock: socket.socket, target: tuple[str, int]) -> tuple[bool, int]:
    """Send the valid input until its echo arrives; whether the model's answer followed, and
    how many sends it took."""
    for attempt in range(1, ATTEMPTS + 1):
        for data in RESET:
            sock.sendto(data, target)
        sock.sendto(encode_floats("/interface", PROBE), target)
        echoed = False
        for values in _predictions(sock, timeout=ANSWER_TIMEOUT):
            if np.allclose(values, PROBE, atol=1e-6):
                echoed = True
            elif echoed:
                return True, attempt
        if echoed:
            return False, attempt
    return False, ATTEMPTS


def _predictions(sock: socket.socket, timeout: float) -> list[list[float]]:
    """The values of each ``/prediction`` arriving within ``timeout`` (stops at a quiet gap)."""
    found: list[list[float]] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            address, args = decode_packet(sock.recv(65536))[0]
        except (TimeoutError, OSError):
            break
        if address == "/prediction":
            found.append([float(a) for a in args])  # type: ignore[arg-type]
            if len(found) >= 2 and np.allclose(found[-2], PROBE, atol=1e-6):
                break
    return found


def campaign(total: int, batch: int, seed: int) -> dict[str, Any]:
    """Run the campaign (see the module docstring) and return its figures."""
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="foretell-fuzz-") as tmp:
        root = Path(tmp)
        musician = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        musician.bind(("127.0.0.2", 0))
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        model = bench_model(root / "m.ftm")
        args = ["--model", str(model), "--mode", "filter", "--seed", "0"]
        args += ["--osc-out", f"127.0.0.2:{musician.getsockname()[1]}"]
        engine = EngineProcess([*args, "--log-dir", str(root / "logs")])
        target = ("127.0.0.1", engine.port)
        rss_start = engine.rss_mb()
        sent = answered = probes = resent = 0
        started = time.perf_counter()
        while sent < total:
            for data in datagrams(rng, min(batch, total - sent)):
                stranger.sendto(data, target)
                sent += 1
            probes += 1
            ok, attempts = probe(musician, target)
            answered += ok
            resent += attempts - 1
        elapsed = time.perf_counter() - started
        rss_end = engine.rss_mb()
        alive = engine.process.poll() is None
        engine.stop()
        logs = sorted((root / "logs").glob("*.log"))
        rows = read_log(logs[0]).rows if logs else ()
        logged = sum(r.source == "user" and np.allclose(r.values, PROBE, atol=1e-6) for r in rows)
    stderr = "".join(engine.lines)
    slowest = re.search(r"slowest ([0-9.]+) ms \(([0-9.]+) ms of CPU; (\d+) over 5 ms\)", stderr)
    return {
        "machine": {**machine(), "load_average": os.getloadavg()},
        "datagrams_sent": sent,
        "seconds": round(elapsed, 1),
        "valid_inputs": probes,
        "answered": answered,
        "probes_resent": resent,
        "logged": logged,
        "alive_at_end": alive,
        "exit_code": engine.process.returncode,
        "slowest_wakeup_ms": float(slowest.group(1)) if slowest else None,
        "slowest_wakeup_cpu_ms": float(slowest.group(2)) if slowest else None,
        "wakeups_over_5ms": int(slowest.group(3)) if slowest else None,
        "rss_mb": {"start": round(rss_start, 1), "end": round(rss_end, 1)},
        "stderr_bytes": len(stderr.encode()),
        "stop_lines": [line.strip() for line in engine.lines[-4:]],
    }


@register
@click.command("fuzz")
@click.option("--datagrams", "total", default=1_000_000, show_default=True, type=click.IntRange(1))
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fuzz(total: int, batch: int, seed: int, as_json: bool) -> None:
    """Mutated OSC against a live `foretell run`, a valid input after each batch."""
    result = campaign(total, batch, seed)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{result['datagrams_sent']} mutated datagrams in {result['seconds']} s; valid inputs "
        f"answered {result['answered']}/{result['valid_inputs']}, logged {result['logged']}; "
        f"slowest wake-up {result['slowest_wakeup_ms']} ms ({result['slowest_wakeup_cpu_ms']} ms "
        f"of CPU, {result['wakeups_over_5ms']} over 5 ms); RSS {result['rss_mb']['start']} -> "
        f"{result['rss_mb']['end']} MB; stderr {result['stderr_bytes']} bytes; "
        f"{'alive' if result['alive_at_end'] else 'DEAD'} at the end, exit {result['exit_code']}"
    )
