"""``foretell bench memory``: peak RSS of a process that loads a model and performs with it.

A fresh Python process imports foretell's runtime (NumPy only), loads a model file, runs
``--steps`` predict + sample steps, and reports its peak resident set size: ``VmHWM`` from
``/proc/self/status`` (Linux), else ``resource.getrusage``'s ``ru_maxrss``. The same is measured
for a process that only imports NumPy, the floor under any NumPy program. Without ``--model``, an
s-sized model (64 units, 2 layers, 4 dimensions) with random weights is written to a temporary
file: weights of the same size cost the same memory as trained ones. This measures; it asserts
nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import numpy as np

from foretell.bench.harness import bench_spec
from foretell.bench.registry import register
from foretell.errors import ForetellError
from foretell.model.fileformat import ModelFile, save_model
from foretell.model.random import uniform_weights

_PEAK_RSS = """
import resource, sys

def peak_rss_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
"""

_PERFORM = (
    _PEAK_RSS
    + """
import json
import numpy as np
from foretell.model.protocol import load_voice

runtime = load_voice(sys.argv[1], seed=0)
event = np.full(runtime.model.dimension, 0.5)
event[0] = 0.02
for _ in range(int(sys.argv[2])):
    event = runtime.sample(runtime.observe(event))
print(json.dumps({"peak_rss_mb": peak_rss_mb(), "torch_imported": "torch" in sys.modules}))
"""
)

_NUMPY_ONLY = (
    _PEAK_RSS + "\nimport json, numpy\nprint(json.dumps({'peak_rss_mb': peak_rss_mb()}))\n"
)


def _run(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ForetellError(f"memory probe failed: {done.stderr.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def s_model() -> ModelFile:
    """An s-sized model (2 x 64 LSTM, 4 dimensions, 5 mixtures) with random weights."""
    spec = bench_spec(64, 4, 2, 5)
    return ModelFile(spec, uniform_weights(spec, np.random.default_rng(0)), {"name": "bench"})


def peak_rss(model: Path | None = None, steps: int = 2000) -> dict[str, Any]:
    """Peak RSS (MB) of a fresh process that loads ``model`` and runs ``steps`` steps."""
    with tempfile.TemporaryDirectory(prefix="foretell-memory-") as tmp:
        path = model if model is not None else save_model(Path(tmp) / "s.ftm", s_model())
        performing = _run(_PERFORM, str(path), str(steps))
    return {
        "peak_rss_mb": round(performing["peak_rss_mb"], 1),
        "numpy_only_rss_mb": round(_run(_NUMPY_ONLY)["peak_rss_mb"], 1),
        "memory_steps": steps,
        "torch_imported": performing["torch_imported"],
    }


@register
@click.command("memory")
@click.option(
    "--model",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Model file to load [default: an s-sized model with random weights].",
)
@click.option("--steps", default=2000, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def memory(model: Path | None, steps: int, as_json: bool) -> None:
    """Peak RSS of a fresh process that loads a model and performs (predict + sample)."""
    result = peak_rss(model, steps)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"peak RSS {result['peak_rss_mb']:.1f} MB after {steps} predict + sample steps "
        f"(a process that only imports NumPy: {result['numpy_only_rss_mb']:.1f} MB)"
    )
