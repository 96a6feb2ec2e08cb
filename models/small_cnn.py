"""A small two-block CNN for quick runs on any image size (global max pooling finds a feature anywhere, at any image size)."""
from __future__ import annotations

from torch import nn

from rudra.models.size import scaled


class SmallCNN(nn.Sequential):
    """conv3×3·32w → ReLU → maxpool 2, conv3×3·64w → ReLU → maxpool 2, global max pool, fc → classes."""

    def __init__(self, channels: int, classes: int, width: float = 1.0):
        c1, c2 = scaled(32, width), scaled(64, width)
        super().__init__(
            nn.Conv2d(channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(c2, classes),
        )
