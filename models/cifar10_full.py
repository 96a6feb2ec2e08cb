"""The paper's CIFAR-10 net, after Caffe's examples/cifar10/cifar10_full_train_test.prototxt.

conv5×5·32 (pad 2) → maxpool 3/2 → ReLU → LRN, conv5×5·32 → ReLU → avgpool 3/2 → LRN,
conv5×5·64 → ReLU → avgpool 3/2, fc → classes. Pooling rounds up as Caffe's does
(ceil_mode, no padding: 32 → 16 → 8 → 4), so on 3×32×32 inputs it has exactly
89,578 parameters, the same as Caffe's cifar10_full (the paper's "≈ 90K").

Caffe normalises WITHIN_CHANNEL (a 3×3 spatial window); torch only has the
across-channel nn.LocalResponseNorm, used here with Caffe's size 3, α 5e-5,
β 0.75, k 1. With α this small either form is close to the identity.
Weights start from torch's default init, not Caffe's Gaussians (std 1e-4 for
conv1): those assume mean-subtracted 0..255 pixels, and on standardised inputs
the net stays at loss ln 10. Caffe's per-layer lr/decay multipliers belong to
the optimizer and are not modelled.
"""
from __future__ import annotations

from torch import nn

from rudra.models.size import pooled_ceil


class Cifar10Full(nn.Sequential):
    """Caffe cifar10_full for C×H×W inputs (3×32×32 for CIFAR-10)."""

    def __init__(self, input_shape: tuple[int, ...], classes: int = 10, lrn: bool = True):
        c, h, w = input_shape
        norm = (lambda: nn.LocalResponseNorm(3, alpha=5e-5, beta=0.75, k=1.0)) if lrn else nn.Identity
        fh, fw = pooled_ceil(pooled_ceil(pooled_ceil(h))), pooled_ceil(pooled_ceil(pooled_ceil(w)))
        super().__init__(
            nn.Conv2d(c, 32, 5, padding=2), nn.MaxPool2d(3, 2, ceil_mode=True), nn.ReLU(), norm(),
            nn.Conv2d(32, 32, 5, padding=2), nn.ReLU(), nn.AvgPool2d(3, 2, ceil_mode=True), norm(),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.AvgPool2d(3, 2, ceil_mode=True),
            nn.Flatten(), nn.Linear(64 * fh * fw, classes),
        )
