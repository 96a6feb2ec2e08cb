"""A loaded data set as torch tensors, and the one loader every caller uses."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from rudra.models.errors import DatasetError
from rudra.models.size import data_shape, no_test_set
from rudra.models.sources import cifar10, digits, image_folder, synthetic
from rudra.models.spec import DataSpec

READERS = {"digits": digits.load, "synthetic": synthetic.load, "cifar10": cifar10.load,
           "image_folder": image_folder.load}


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors: float32 inputs (N, *input_shape), int64 labels in 0..classes-1."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch axis."""
        return tuple(self.train_x.shape[1:])


def load_dataset(spec: DataSpec, seed: int) -> Dataset:
    """The data set `spec` names, deterministic for `seed`; DatasetError (one line) if files are missing or bad.

    train_limit keeps only the first K training samples (the readers shuffle, so they are a random subset).
    """
    train_x, train_y, test_x, test_y = READERS[spec.name](spec, seed)
    if not len(test_y):
        raise DatasetError(no_test_set(spec))
    _, classes = data_shape(spec)
    if spec.train_limit is not None:
        train_x, train_y = train_x[:spec.train_limit], train_y[:spec.train_limit]
    tensors = (torch.from_numpy(a) for a in (train_x, train_y, test_x, test_y))
    return Dataset(spec.name, *tensors, classes)
