"""Helpers shared by the readers: a seeded stratified split and per-channel standardisation."""
from __future__ import annotations

import numpy as np


def held_out(class_size: int, test_fraction: float) -> int:
    """Samples of one class that go to the test set (at least one stays in train)."""
    return min(round(test_fraction * class_size), class_size - 1)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) index arrays holding `test_fraction` of every class out (at least one sample stays in train).

    Both come shuffled by `seed`, so "the first K training samples" is a random subset.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = held_out(len(idx), test_fraction)
        test.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """N×C×H×W float32 images shifted and scaled per channel by the training set's mean and std."""
    mean = train.mean(axis=(0, 2, 3), dtype=np.float64).reshape(1, -1, 1, 1)
    std = train.std(axis=(0, 2, 3), dtype=np.float64).reshape(1, -1, 1, 1)
    std = np.where(std > 0, std, 1.0)
    return tuple(((a - mean) / std).astype(np.float32) for a in (train, test))
