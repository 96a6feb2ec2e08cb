"""Sizes without torch: parameter counts and data shapes straight from the specs.

The simulator needs message sizes (spec_parameter_bytes) but must not import
torch unless it runs numerics; these formulas mirror the nets in this package
and tests/models/test_nets.py checks them against the real torch modules.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from rudra.models.sources.image_folder import class_folders
from rudra.models.sources.paths import data_root
from rudra.models.spec import DataSpec, ModelSpec

BYTES_PER_PARAMETER = 4  # float32 everywhere


def scaled(channels: int, width: float) -> int:
    """A layer size times the width multiplier, at least 1 (shared by the nets and these formulas)."""
    return max(1, round(channels * width))


def pooled_ceil(size: int, kernel: int = 3, stride: int = 2) -> int:
    """Output side of a Caffe-style pooling layer, which rounds up (e.g. 32 -> 16 for 3/2)."""
    return math.ceil((size - kernel) / stride) + 1


def _conv(cin: int, cout: int, k: int) -> int:
    return cin * cout * k * k + cout


def _linear(cin: int, cout: int) -> int:
    return cin * cout + cout


def spec_parameter_count(spec: ModelSpec, input_shape: tuple[int, ...], classes: int) -> int:
    """Number of parameters `build_model(spec, input_shape, classes)` would have, computed without torch."""
    if spec.name == "mlp":
        sizes = [math.prod(input_shape), *spec.hidden, classes]
        return sum(_linear(a, b) for a, b in zip(sizes, sizes[1:]))
    c = input_shape[0]
    if spec.name == "small_cnn":
        c1, c2 = scaled(32, spec.width), scaled(64, spec.width)
        return _conv(c, c1, 3) + _conv(c1, c2, 3) + _linear(c2, classes)
    if spec.name == "cifar10_full":
        h, w = (pooled_ceil(pooled_ceil(pooled_ceil(s))) for s in input_shape[1:])
        return _conv(c, 32, 5) + _conv(32, 32, 5) + _conv(32, 64, 5) + _linear(64 * h * w, classes)
    if spec.name == "alexnet_style":
        chans = [c] + [scaled(n, spec.width) for n in (96, 256, 384, 384, 256)]
        convs = sum(_conv(a, b, k) for a, b, k in zip(chans, chans[1:], (11, 5, 3, 3, 3)))
        fc = scaled(4096, spec.width)
        return convs + _linear(chans[-1] * 36, fc) + _linear(fc, fc) + _linear(fc, classes)
    raise ValueError(f"unknown model {spec.name!r}")


def spec_parameter_bytes(spec: ModelSpec, input_shape: tuple[int, ...], classes: int) -> int:
    """Bytes of one float32 copy of the parameters (one weights or gradient message)."""
    return BYTES_PER_PARAMETER * spec_parameter_count(spec, input_shape, classes)


def data_shape(spec: DataSpec) -> tuple[tuple[int, ...], int]:
    """(input_shape, classes) of the data set `spec` describes, without loading it.

    image_folder lists its class folders (raising DatasetError if the root is
    missing); every other data set's shape follows from the spec alone.
    """
    if spec.name == "digits":
        return ((1, 8, 8) if spec.image else (64,)), 10
    if spec.name == "synthetic":
        return ((3, spec.image_size, spec.image_size) if spec.image else (spec.features,)), spec.classes
    if spec.name == "cifar10":
        return (3, 32, 32), 10
    return (3, spec.image_size, spec.image_size), len(class_folders(data_root(spec)))


CIFAR10_TRAIN = 50_000


CIFAR10_TEST = 10_000


@dataclass(frozen=True)
class Split:
    """Sample counts of a data set, without loading it: what the reader loads, and its two parts."""

    loaded: int  # train and test, before train_limit
    train: int   # N, after train_limit: an epoch is N/μ gradients
    test: int


def split_sizes(spec: DataSpec) -> Split:
    """The readers' splits, counted: digits and image_folder hold out test_fraction of every class (at least
    one image stays in train); CIFAR-10's five batches hold 50,000 images and its test batch 10,000."""
    from rudra.models.sources.common import held_out
    if spec.name == "synthetic":
        train, test = spec.samples, spec.test_samples
    elif spec.name == "cifar10":
        train, test = CIFAR10_TRAIN, CIFAR10_TEST
    else:
        if spec.name == "digits":
            from sklearn.datasets import load_digits
            counts = np.bincount(load_digits().target).tolist()
        else:
            from rudra.models.sources.image_folder import image_files
            counts = [len(files) for files in image_files(spec)]
        test = sum(held_out(c, spec.test_fraction) for c in counts)
        train = sum(counts) - test
    return Split(train + test, train if spec.train_limit is None else min(train, spec.train_limit), test)


def train_samples(spec: DataSpec) -> int:
    """Training-set size N after train_limit, without loading the data (an epoch is N/μ gradients)."""
    return split_sizes(spec).train


def data_bytes(spec: DataSpec) -> int:
    """Bytes the loaded data set takes in one process: float32 inputs and int64 labels, train and test."""
    shape, _ = data_shape(spec)
    return split_sizes(spec).loaded * (BYTES_PER_PARAMETER * math.prod(shape) + 8)


def no_test_set(spec: DataSpec) -> str:
    """The one line for a data set whose split leaves the test set empty (only small image folders can)."""
    from rudra.models.sources.common import held_out
    need = next(c for c in itertools.count(2) if held_out(c, spec.test_fraction))  # rounds to one image held out
    return (f"{spec.name}: {data_root(spec)}: no image is left for the test set (data.test_fraction = "
            f"{spec.test_fraction:g} of each class, and at least one stays in train): give every class at least "
            f"{need} images")
