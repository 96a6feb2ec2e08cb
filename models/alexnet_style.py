"""An AlexNet-style ImageNet net: 5 conv + 3 fc, Krizhevsky's layer sizes without the two-GPU groups.

At width 1.0 on 3×224×224 inputs with 1000 classes it has 62,378,344 parameters
(the paper reports ≈ 72M for its variant); `width` scales every conv and fc
size, so width 0.125 (≈ 1M parameters) trains on a laptop. An adaptive pool to
6×6 before the fc layers (as torchvision's AlexNet) accepts inputs from ≈ 63 px.
"""
from __future__ import annotations

from torch import nn

from rudra.models.size import scaled


class AlexNetStyle(nn.Sequential):
    """conv11/4·96 → pool, conv5·256 → pool, conv3·384, conv3·384, conv3·256 → pool, fc·4096 ×2 (dropout), fc."""

    def __init__(self, channels: int, classes: int, width: float = 1.0):
        c1, c2, c3, c4, c5 = (scaled(n, width) for n in (96, 256, 384, 384, 256))
        fc = scaled(4096, width)
        super().__init__(
            nn.Conv2d(channels, c1, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.AdaptiveAvgPool2d(6), nn.Flatten(),
            nn.Dropout(0.5), nn.Linear(c5 * 36, fc), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(fc, fc), nn.ReLU(),
            nn.Linear(fc, classes),
        )
