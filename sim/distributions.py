"""Random factors with mean 1 (see sim/spec.py for the four distributions) and a cheap stream of them.

Draws come in numpy blocks so the hot path pays an iterator step per value, not a
numpy call; a stream is consumed in event order, which is deterministic, so
the same seed and config give the same run.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

NORMAL_FLOOR = 0.01  # normal draws are clipped here so times stay positive
BLOCK = 4096


def factors(rng: np.random.Generator, dist: str, cv: float, size: int) -> np.ndarray:
    """`size` independent factors of mean 1 and coefficient of variation `cv`."""
    if dist == "constant":
        return np.ones(size)
    if dist == "normal":
        return np.maximum(1.0 + cv * rng.standard_normal(size), NORMAL_FLOOR)
    if dist == "lognormal":
        s = math.sqrt(math.log1p(cv * cv))
        return np.exp(s * rng.standard_normal(size) - s * s / 2)
    if dist == "exponential":
        return (1.0 - cv) + cv * rng.standard_exponential(size)
    raise ValueError(f"unknown distribution {dist!r}")


class Stream:
    """Factors drawn one at a time: `dist`/`cv` jitter, times `slowdown` with probability `prob`, times `scale`.

    `draw()` is the next value: it steps a C-level iterator over the blocks, so Python code runs
    once per block, not once per value (a constant stream just repeats `scale`).
    """

    def __init__(self, rng: np.random.Generator, dist: str, cv: float, prob: float = 0.0, slowdown: float = 1.0,
                 scale: float = 1.0):
        self._rng, self._dist, self._cv, self._prob, self._slowdown = rng, dist, cv, prob, slowdown
        self._scale = scale
        values = itertools.repeat(float(scale)) if self.constant else itertools.chain.from_iterable(self._blocks())
        self.draw = values.__next__

    @property
    def constant(self) -> bool:
        """True when every factor is 1 (callers may skip drawing)."""
        return self._dist == "constant" and (self._prob == 0.0 or self._slowdown == 1.0)

    def _blocks(self) -> Iterator[list[float]]:
        while True:
            f = factors(self._rng, self._dist, self._cv, BLOCK)
            if self._prob > 0.0:
                f = np.where(self._rng.random(BLOCK) < self._prob, f * self._slowdown, f)
            yield (f * self._scale).tolist()
