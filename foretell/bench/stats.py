"""Latency figures as the benchmarks report them: median, 99th percentile and maximum."""

from __future__ import annotations

import numpy as np


def latency_summary(
    ms: np.ndarray, prefix: str = "", with_max: bool = True
) -> dict[str, float | None]:
    """``{prefix}p50_ms``, ``{prefix}p99_ms`` (and ``{prefix}max_ms``) of ``ms``, NaNs ignored;
    ``None`` values when nothing was measured."""
    ms = np.asarray(ms, dtype=np.float64)
    ms = ms[~np.isnan(ms)]
    keys = ["p50", "p99", *(["max"] if with_max else [])]
    if len(ms) == 0:
        return {f"{prefix}{key}_ms": None for key in keys}
    values = [float(np.median(ms)), float(np.percentile(ms, 99)), float(ms.max())]
    return {f"{prefix}{key}_ms": value for key, value in zip(keys, values, strict=False)}
