"""Images in one subfolder per class (root/cat/1.jpg, root/dog/2.png, ...), read with Pillow.

Class k is the k-th folder name in sorted order. Images become RGB, resized to
image_size × image_size, scaled to [0, 1] and standardised per channel with the
training split's statistics; the test split is seeded and stratified.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rudra.models.errors import DatasetError
from rudra.models.sources.common import standardize, stratified_split
from rudra.models.sources.paths import data_root
from rudra.models.spec import DataSpec

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}


def class_folders(root: Path) -> list[Path]:
    """The class subfolders of `root`, sorted by name; DatasetError if there are none."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DatasetError(f"image_folder: {root} has no class subfolders: expected root/<class>/<image>.png|jpg")
    return folders


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise DatasetError(f"image_folder: class folder {folder} holds no images: expected files ending in "
                           f"{', '.join(sorted(SUFFIXES))}")
    return files


def image_files(spec: DataSpec) -> list[list[Path]]:
    """The image files of each class, in class order (DatasetError for a missing or empty root)."""
    return [_image_files(folder) for folder in class_folders(data_root(spec))]


def read_image(path: Path, size: int) -> np.ndarray:
    """3×size×size float32 in [0, 1]; DatasetError if Pillow cannot read it."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((size, size), Image.BILINEAR)
    except Exception as e:  # Pillow reports unreadable or truncated files with several exception types
        raise DatasetError(f"image_folder: cannot read image {path} ({type(e).__name__}: {e})") from None
    return np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0


def load(spec: DataSpec, seed: int) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, test_x, test_y) of every image under the configured root."""
    files, labels = [], []
    for k, found in enumerate(image_files(spec)):
        files += found
        labels += [k] * len(found)
    x = np.stack([read_image(p, spec.image_size) for p in files])
    y = np.array(labels, dtype=np.int64)
    train, test = stratified_split(y, spec.test_fraction, seed)
    train_x, test_x = standardize(x[train], x[test])
    return train_x, y[train], test_x, y[test]
