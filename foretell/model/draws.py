"""The random numbers a voice samples with, drawn from its generator a block at a time.

One call to the generator per ``RANDOM_BLOCK`` events instead of two per event: each ``next()``
hands out one event's uniforms and standard normals, as Python floats (sampling works on them).
The stream is the generator's own, in the order uniforms then normals per block, so a seeded voice
plays the same events whatever else it draws between blocks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RANDOM_BLOCK = 1024


class RandomBlocks:
    """Per event: ``uniforms`` uniforms (one float when None) and ``normals`` normals."""

    def __init__(self, rng: np.random.Generator, uniforms: int | None, normals: int) -> None:
        self.rng = rng
        self._shape = RANDOM_BLOCK if uniforms is None else (RANDOM_BLOCK, uniforms)
        self._normals_shape = (RANDOM_BLOCK, normals)
        self._uniforms: list[Any] = []
        self._normals: list[list[float]] = []
        self._next = 0

    def next(self) -> tuple[Any, list[float]]:
        """The next event's uniforms and normals (a new block when this one is used up)."""
        if self._next >= len(self._uniforms):
            self._uniforms = self.rng.random(self._shape).tolist()
            self._normals = self.rng.standard_normal(self._normals_shape).tolist()
            self._next = 0
        i = self._next
        self._next += 1
        return self._uniforms[i], self._normals[i]
