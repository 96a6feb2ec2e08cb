"""scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes; nothing downloaded).

Pixels 0..16 are scaled to [0, 1]. Flat inputs are the 64 pixels; shape "image"
gives 1×8×8 for the conv nets. The test set is a seeded stratified split.
"""
from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from rudra.models.sources.common import stratified_split
from rudra.models.spec import DataSpec


def load(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, test_x, test_y) of the digits."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    if spec.image:
        x = x.reshape(-1, 1, 8, 8)
    y = y.astype(np.int64)
    train, test = stratified_split(y, spec.test_fraction, seed)
    return x[train], y[train], x[test], y[test]
