"""A multilayer perceptron on flattened inputs: the quick baseline (and, with no hidden layers, logistic regression)."""
from __future__ import annotations

import math

from torch import nn


class MLP(nn.Sequential):
    """Flatten → (Linear → ReLU) per hidden size → Linear to class logits."""

    def __init__(self, input_shape: tuple[int, ...], hidden: tuple[int, ...], classes: int):
        sizes = [math.prod(input_shape), *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        super().__init__(*layers, nn.Linear(sizes[-1], classes))
