"""Several runtimes of one model stepped together: one matrix product per layer for all of them.

``shared_runtimes(model, rngs)`` builds runtimes that share one copy of the fused weights (each
keeps its own LSTM state, output buffer and generator). ``predict_batch(runtimes, events)``
conditions each runtime on its own event exactly as ``Runtime.predict`` would (to float32
rounding), but stacks their states into ``(N, width)`` rows so each layer costs one ``(N, In+H) @
(In+H, 4H)`` product instead of N vector products. Afterwards every runtime holds its new state
and its raw parameters, as if it had been stepped alone.

It reads the runtimes' buffers directly (same package, same layout: see ``runtime``); it does not
sample, and it does nothing about *when* steps happen (``foretell.perform.batching`` decides).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from foretell.model.fileformat import ModelFile
from foretell.model.runtime import Runtime

R = TypeVar("R", bound=Runtime)


def shared_runtimes(
    model: ModelFile,
    rngs: Sequence[np.random.Generator],
    make: Callable[[ModelFile, np.random.Generator], R] = Runtime,  # type: ignore[assignment]
) -> list[R]:
    """One runtime (built by ``make``) per generator, all reading the first one's fused weights."""
    runtimes = [make(model, rng) for rng in rngs[:1]]
    for rng in rngs[1:]:
        runtime = type(runtimes[0]).__new__(type(runtimes[0]))
        runtime.__dict__.update(runtimes[0].__dict__)  # weights by reference ...
        _own_buffers(runtime, rng)  # ... state, scratch and generator of its own
        runtimes.append(runtime)
    return runtimes


def _own_buffers(runtime: Runtime, rng: np.random.Generator) -> None:
    runtime.rng = rng
    for name in ("_buffer", "_cells", "_gates", "_scratch", "_raw"):
        setattr(runtime, name, np.zeros_like(getattr(runtime, name)))
    runtime._views = runtime._layer_views()
    runtime._uniforms, runtime._normals, runtime._next_random = [], [], 0


def predict_batch(runtimes: Sequence[Runtime], events: Sequence[np.ndarray]) -> None:
    """Condition runtime i on events[i], all in one product per layer (see the module docstring).

    Every runtime must share the first one's model. Each runtime's ``_raw`` then holds what its
    own ``predict`` would have returned.
    """
    if len(runtimes) == 1:
        Runtime.predict(runtimes[0], events[0])  # the plain step, even for a subclass
        return
    first = runtimes[0]
    spec = first.spec
    d, h = spec.dimension, spec.units
    for runtime, event in zip(runtimes, events, strict=True):
        runtime._encode_input(event)
    buffers = np.stack([r._buffer for r in runtimes])  # (N, D + L*H)
    cells = np.stack([r._cells for r in runtimes])  # (N, L, H)
    for layer, (matrix, bias) in enumerate(first._fused):
        start = 0 if layer == 0 else d + (layer - 1) * h
        width = (d if layer == 0 else h) + h
        gates = buffers[:, start : start + width] @ matrix  # (N, 4H)
        gates += bias
        np.tanh(gates, out=gates)
        gates[:, : 3 * h] *= 0.5
        gates[:, : 3 * h] += 0.5  # i, f, o sigmoids; g tanh
        cell = cells[:, layer]  # (N, H)
        cell *= gates[:, h : 2 * h]
        cell += gates[:, :h] * gates[:, 3 * h :]
        buffers[:, start + width - h : start + width] = gates[:, 2 * h : 3 * h] * np.tanh(cell)
    raw = buffers[:, -h:] @ first._head_w  # (N, P)
    raw += first._head_b
    for i, runtime in enumerate(runtimes):
        runtime._buffer[:] = buffers[i]
        runtime._cells[:] = cells[i]
        runtime._raw[:] = raw[i]
        runtime._activate_sigma(runtime._raw[runtime._sigma])
