"""Test-set loss and error of a model: the metric every training run reports."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, error fraction in [0, 1]) over (x, y), in eval mode without gradients.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    loss, wrong = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            logits = model(x[start:start + batch])
            target = y[start:start + batch]
            loss += F.cross_entropy(logits, target, reduction="sum").item()
            wrong += (logits.argmax(dim=1) != target).sum().item()
    model.train(was_training)
    return loss / len(y), wrong / len(y)
