"""CIFAR-10 from its standard local python folder, cifar-10-batches-py (never downloaded).

data_batch_1..5 and test_batch are pickled dicts with b"data" (N×3072 uint8,
R then G then B planes of 32×32) and b"labels" (N ints in 0..9). [data] path or
RUDRA_DATA may name the folder itself or its parent. Inputs are standardised
per channel with the mean and std of the training set that was loaded (for the
real set ≈ the customary (0.491, 0.482, 0.447) / (0.247, 0.243, 0.262) × 255).
The pickles are the user's own local files, unpickled as the format requires.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from rudra.models.errors import DatasetError
from rudra.models.sources.common import standardize
from rudra.models.sources.paths import data_root
from rudra.models.spec import DataSpec

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
EXPECTED = "a pickled dict with b'data' (N×3072 uint8) and b'labels' (N ints in 0..9)"


def batch_folder(spec: DataSpec) -> Path:
    """The cifar-10-batches-py folder: the configured folder itself or its child of that name."""
    root = data_root(spec)
    if (root / FOLDER).is_dir():
        return root / FOLDER
    if not (root / TRAIN_FILES[0]).exists():
        raise DatasetError(f"cifar10: {root} holds neither {FOLDER}/ nor {TRAIN_FILES[0]}: "
                           f"expected the folder with {', '.join(TRAIN_FILES)} and {TEST_FILE}")
    return root


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(N×3×32×32 uint8 images, N int64 labels) of one batch file; DatasetError if it is not one."""
    if not path.is_file():
        raise DatasetError(f"cifar10: missing batch file {path}: expected {', '.join(TRAIN_FILES)} and {TEST_FILE}")
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
    except Exception as e:  # truncated or foreign files fail in many ways (EOFError, UnpicklingError, ...)
        raise DatasetError(f"cifar10: cannot unpickle {path} (truncated or not a CIFAR-10 batch: "
                           f"{type(e).__name__}: {e}): expected {EXPECTED}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DatasetError(f"cifar10: {path} is not {EXPECTED}")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise DatasetError(f"cifar10: {path} has b'data' {data.dtype} {data.shape} and {labels.size} labels: "
                           f"expected {EXPECTED}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"cifar10: {path} has labels outside 0..9: expected {EXPECTED}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, test_x, test_y); the split is CIFAR-10's own, so `seed` is unused."""
    folder = batch_folder(spec)
    train = [read_batch(folder / name) for name in TRAIN_FILES]
    test_x, test_y = read_batch(folder / TEST_FILE)
    train_x = np.concatenate([x for x, _ in train]).astype(np.float32)
    train_x, test_x = standardize(train_x, test_x.astype(np.float32))
    return train_x, np.concatenate([y for _, y in train]), test_x, test_y
