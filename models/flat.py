"""One contiguous float32 buffer for all parameters (and one for all gradients).

The server and the learners send one tensor per message; after these calls
every `param.data` / `param.grad` is a view into that buffer, so writing the
buffer changes the model and backward() fills the flat gradient in place.
Zero the flat gradient with `grad.zero_()`: `model.zero_grad()` would set the
views to None and detach them.
"""
from __future__ import annotations

import torch
from torch import nn

from rudra.models.size import BYTES_PER_PARAMETER


def _views(model: nn.Module, flat: torch.Tensor):
    """(parameter, view of `flat` shaped like it) for each parameter, in order."""
    offset = 0
    for p in model.parameters():
        yield p, flat[offset:offset + p.numel()].view_as(p)
        offset += p.numel()


def flatten_parameters(model: nn.Module) -> torch.Tensor:
    """Move all parameters into one new float32 tensor and re-point each `.data` at its slice; return it."""
    flat = torch.empty(parameter_count(model), dtype=torch.float32)
    for p, view in _views(model, flat):
        view.copy_(p.data)
        p.data = view
    return flat


def flat_grad(model: nn.Module) -> torch.Tensor:
    """A zeroed float32 buffer whose slices become every parameter's `.grad`; return it."""
    flat = torch.zeros(parameter_count(model), dtype=torch.float32)
    for p, view in _views(model, flat):
        p.grad = view
    return flat


def parameter_count(model: nn.Module) -> int:
    """Number of scalar parameters."""
    return sum(p.numel() for p in model.parameters())


def parameter_bytes(model: nn.Module) -> int:
    """Bytes of one float32 copy of the parameters: the size of a weights or gradient message."""
    return BYTES_PER_PARAMETER * parameter_count(model)
