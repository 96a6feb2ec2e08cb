"""The numerical step both drivers share: a gradient at given flat weights on a given minibatch, and the
server's update θ ← θ − lr·Σ scale_k g_k through SGD with momentum and weight decay.

Plain flat float32 tensors in and out, nothing about processes or messages:
the runtime's learners and shard servers use it, and a single process can
hold many weight versions and step them (the simulator's numerics mode).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from rudra.models.build import build_model
from rudra.models.flat import flat_grad, flatten_parameters
from rudra.models.spec import ModelSpec

CPU = torch.device("cpu")


class FlatNet(NamedTuple):
    """A net whose parameters and gradients are views of two flat float32 buffers on one device."""

    model: nn.Module
    params: torch.Tensor
    grads: torch.Tensor

    def gradient(self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None = None) -> float:
        """Fill `grads` with ∇ of the mean cross-entropy over (x, y), at `weights` if given (copied into
        `params`) or at the weights held; returns the loss."""
        if weights is not None:
            self.params.copy_(weights)
        if not self.model.training:
            self.model.train()
        self.grads.zero_()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        return loss.item()


def flat_model(spec: ModelSpec, input_shape: tuple[int, ...], classes: int, seed: int,
               device: torch.device = CPU) -> FlatNet:
    """The net `spec` names with flat buffers on `device`; every caller gets the same initial weights for `seed`.

    models.flat builds its buffers on the CPU; for another device they are
    moved and the parameter views re-pointed.
    """
    torch.manual_seed(seed)
    model = build_model(spec, input_shape, classes)
    params, grads = flatten_parameters(model), flat_grad(model)
    if device.type != "cpu":
        params, grads = params.to(device), grads.to(device)
        offset = 0
        for p in model.parameters():
            n = p.numel()
            p.data, p.grad = params[offset:offset + n].view_as(p), grads[offset:offset + n].view_as(p)
            offset += n
        model.to(device)
    return FlatNet(model, params, grads)


class Sgd:
    """SGD with momentum and weight decay over one flat weight vector, updated in place.

    `apply` takes the Update's terms (scale_k, g_k) and lr, as protocol/
    decides them: the optimizer sees Σ scale_k g_k as its gradient.
    """

    def __init__(self, weights: torch.Tensor, momentum: float, weight_decay: float):
        self.param = nn.Parameter(weights, requires_grad=False)  # shares `weights`' storage
        self.param.grad = torch.zeros_like(weights)
        self.optimizer = torch.optim.SGD([self.param], lr=0.0, momentum=momentum, weight_decay=weight_decay)

    def apply(self, terms: Iterable[tuple[float, torch.Tensor]], lr: float) -> None:
        """θ ← θ − lr·Σ scale·g through the optimizer; each g is a flat tensor as long as the weights."""
        grad = self.param.grad
        for k, (scale, g) in enumerate(terms):
            if k == 0:
                torch.mul(g, scale, out=grad)  # no zeroing pass over the buffer
            else:
                grad.add_(g, alpha=scale)
        self.optimizer.param_groups[0]["lr"] = lr
        self.optimizer.step()

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)
