"""Generated classification data that is learnable but not linearly: the shipped stand-in for real data.

image: each class owns a random 3×5×5 pattern with zero mean per channel; a
sample is Gaussian noise (std = noise) with its class's pattern pasted at a
random position. Finding the pattern anywhere needs convolutions (or a big
MLP); a linear model sees the patterns only blurred over all positions, which
averages them away, so it stays far below a small CNN.
flat: Gaussian features; the label is the class c whose random direction w_c
has the largest |w_c · x| (plus noise · 0.3 · N(0, 1) per class). The rule is
symmetric under x → −x, so a linear model is at chance; an MLP learns it.
Train and test come from the same seeded generator.
"""
from __future__ import annotations

import numpy as np

from rudra.models.spec import DataSpec

PATCH = 5
NOISE_SCALE = 0.3


def _images(rng: np.random.Generator, n: int, classes: int, size: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    patterns = rng.standard_normal((classes, 3, PATCH, PATCH))
    patterns -= patterns.mean(axis=(2, 3), keepdims=True)
    patterns /= patterns.std(axis=(1, 2, 3), keepdims=True)
    y = rng.integers(classes, size=n)
    x = noise * rng.standard_normal((n, 3, size, size))
    rows, cols = rng.integers(size - PATCH + 1, size=(2, n))
    for i in range(n):
        x[i, :, rows[i]:rows[i] + PATCH, cols[i]:cols[i] + PATCH] += patterns[y[i]]
    return x, y


def _teacher(rng: np.random.Generator, n: int, classes: int, features: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    directions = rng.standard_normal((features, classes)) / np.sqrt(features)
    x = rng.standard_normal((n, features))
    scores = np.abs(x @ directions) + NOISE_SCALE * noise * rng.standard_normal((n, classes))
    return x, scores.argmax(axis=1)


def load(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, test_x, test_y): spec.samples training and spec.test_samples test samples."""
    rng = np.random.default_rng(seed)
    n = spec.samples + spec.test_samples
    if spec.image:
        x, y = _images(rng, n, spec.classes, spec.image_size, spec.noise)
    else:
        x, y = _teacher(rng, n, spec.classes, spec.features, spec.noise)
    x, y = x.astype(np.float32), y.astype(np.int64)
    k = spec.samples
    return x[:k], y[:k], x[k:], y[k:]
