"""The number format training's LSTM computes in: bfloat16 where the CPU does it natively.

The LSTM is most of a training step's arithmetic. oneDNN's bfloat16 LSTM, on a CPU with native
bfloat16 instructions (x86 ``avx512_bf16`` or AMX), takes about half the time of float32 for
batches of 16 and more, and whole runs at the defaults reach the same test NLL sooner
(docs/evaluation/choices.md, "bfloat16"). Elsewhere bfloat16 is emulated and no faster, so
training stays float32.

This module imports torch only when asked (the command line reads ``PRECISIONS`` without it).

Only the LSTM runs in bfloat16 (``torch.autocast`` around it, weights kept and stepped in
float32); the mixture head and its NLL stay float32, and validation runs the float32 network,
as the NumPy runtime does, so the NLL that picks the model is the one a performance gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS: tuple[Precision, ...] = ("auto", "float32", "bfloat16")


def native_bfloat16() -> bool:
    """Whether this CPU has bfloat16 arithmetic instructions that torch's kernels use."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def lstm_in_bfloat16(requested: Precision = "auto") -> bool:
    """Whether the LSTM computes in bfloat16 for ``requested`` (``auto``: where native)."""
    return requested == "bfloat16" or (requested == "auto" and native_bfloat16())


def lstm_dtype(requested: Precision = "auto") -> torch.dtype:
    """``torch.bfloat16`` or ``torch.float32`` for the LSTM (see ``lstm_in_bfloat16``)."""
    import torch

    return torch.bfloat16 if lstm_in_bfloat16(requested) else torch.float32
