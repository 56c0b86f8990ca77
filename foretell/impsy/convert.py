"""Keras arrays of an IMPSY MDRNN -> foretell's tensors, checked against the architecture.

Keras stores an LSTM's kernel as ``(In, 4H)`` with gates i, f, c, o (PyTorch's i, f, g, o), the
recurrent kernel as ``(H, 4H)`` and one bias ``(4H)``; foretell wants the transposes. The MDN's
three dense sub-layers (means, scales, mixture logits) stack into one head ``(2KD + K, H)`` whose
rows follow IMPSY's output layout. Sigma is ``elu(a) + 1 + 1e-7`` (keras-mdn-layer with Keras'
epsilon), and inputs are multiplied by IMPSY's ``SCALE_FACTOR``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from foretell.errors import ImportModelError
from foretell.impsy.architecture import ImpsyArchitecture, from_shapes
from foretell.impsy.h5_layouts import HEAD_PARTS, KerasWeights
from foretell.model.fileformat import ModelSpec
from foretell.model.transform import DataTransform

KERAS_EPSILON = 1e-7
IMPSY_DT_MIN = 0.000454  # seconds: IMPSY's proc_generated_touch floors generated dt here


Shape = tuple[int, ...]


def expected_shapes(
    arch: ImpsyArchitecture,
) -> tuple[list[tuple[Shape, Shape, Shape]], dict[str, tuple[Shape, Shape]]]:
    """Keras shapes for ``arch``: per LSTM layer (kernel, recurrent, bias), and per head part."""
    d, h, k = arch.dimension, arch.units, arch.mixtures
    lstm: list[tuple[Shape, Shape, Shape]] = [
        ((d if i == 0 else h, 4 * h), (h, 4 * h), (4 * h,)) for i in range(arch.layers)
    ]
    head: dict[str, tuple[Shape, Shape]] = {
        "mus": ((h, k * d), (k * d,)),
        "sigmas": ((h, k * d), (k * d,)),
        "pis": ((h, k), (k,)),
    }
    return lstm, head


def architecture_from_weights(weights: KerasWeights, origin: str) -> ImpsyArchitecture:
    """Infer the architecture from the arrays alone (for files without config or name pattern)."""
    mixtures = weights.head["pis"][1].shape[0]
    dimension, remainder = divmod(weights.head["mus"][1].shape[0], max(mixtures, 1))
    if remainder or mixtures == 0:
        raise ImportModelError(f"{origin}: wrong layer shapes: MDN means do not fit its mixtures")
    units = weights.lstm[0][1].shape[0]
    return from_shapes(dimension, len(weights.lstm), units, mixtures)


def check_shapes(weights: KerasWeights, arch: ImpsyArchitecture, origin: str) -> None:
    """Raise naming the first array that does not fit ``arch`` (and where ``arch`` came from)."""
    lstm, head = expected_shapes(arch)
    context = f"for {arch.describe()} (architecture from {arch.source})"
    if len(weights.lstm) != len(lstm):
        raise ImportModelError(
            f"{origin}: wrong layer shapes: {len(weights.lstm)} LSTM layers, expected "
            f"{len(lstm)} {context}"
        )
    for layer, (arrays, shapes) in enumerate(zip(weights.lstm, lstm, strict=True)):
        for what, array, shape in zip(
            ("kernel", "recurrent kernel", "bias"), arrays, shapes, strict=True
        ):
            _check(array, shape, f"LSTM layer {layer} {what}", context, origin)
    for part in HEAD_PARTS:
        for what, array, shape in zip(
            ("kernel", "bias"), weights.head[part], head[part], strict=True
        ):
            _check(array, shape, f"MDN {part} {what}", context, origin)


def _check(array: np.ndarray, shape: Shape, what: str, context: str, origin: str) -> None:
    if tuple(array.shape) != shape:
        raise ImportModelError(
            f"{origin}: wrong layer shapes: {what} is {tuple(array.shape)}, "
            f"expected {shape} {context}"
        )
    if not np.isfinite(array).all():
        raise ImportModelError(f"{origin}: {what} holds NaN or infinite values")


def to_foretell(weights: KerasWeights) -> dict[str, np.ndarray]:
    """foretell's tensors (``ModelSpec.tensor_shapes`` names) from checked Keras arrays."""
    tensors: dict[str, np.ndarray] = {}
    for layer, (kernel, recurrent, bias) in enumerate(weights.lstm):
        tensors[f"lstm.{layer}.weight_ih"] = kernel.T  # (4H, In)
        tensors[f"lstm.{layer}.weight_hh"] = recurrent.T  # (4H, H)
        tensors[f"lstm.{layer}.bias"] = bias  # (4H,)
    kernels = [weights.head[part][0] for part in HEAD_PARTS]  # (H, KD), (H, KD), (H, K)
    tensors["head.weight"] = np.concatenate(kernels, axis=1).T  # (2KD + K, H)
    tensors["head.bias"] = np.concatenate([weights.head[part][1] for part in HEAD_PARTS])
    return {name: np.ascontiguousarray(t, dtype=np.float32) for name, t in tensors.items()}


def impsy_spec(arch: ImpsyArchitecture, scale: float) -> ModelSpec:
    """The foretell spec that runs an IMPSY model exactly as IMPSY does."""
    transform = dataclasses.replace(
        DataTransform.scaled(arch.dimension, scale), dt_min=IMPSY_DT_MIN
    )
    return ModelSpec(
        dimension=arch.dimension,
        layers=arch.layers,
        units=arch.units,
        mixtures=arch.mixtures,
        transform=transform,
        sigma_activation="elu1",
        sigma_min=KERAS_EPSILON,
        floor_weight=0.0,
        floor_sigma=1.0,
    )
