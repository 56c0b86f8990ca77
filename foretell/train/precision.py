"""The number format training's LSTM computes in: bfloat16 where the CPU does it natively.

The LSTM is most of a training step's arithmetic. oneDNN's bfloat16 LSTM, on a CPU with native
bfloat16 instructions (x86 ``avx512_bf16`` or AMX), takes about half the time of float32 for
batches of 16 and more (measured, AMD EPYC with AVX-512 BF16, one thread, 2 layers of 64 units,
25 steps, forward and backward: batch 8 1.35 ms against 1.57, 16 1.97 against 4.04, 32 2.83
against 7.88); whole runs at the defaults (batches of 32, one thread, side by side): LightPad
12k 3.2 s of training against 4.1 in float32, 100k 21-24 s against 26-27, the same test NLL
(12k -8.76 and -8.75, 100k seeds 0 and 1: -11.11 and -11.33 against -11.14 and -11.36).
Elsewhere bfloat16 is emulated and no faster, so training stays float32.

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
