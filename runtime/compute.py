"""A learner's (or evaluator's) model: built from the seed, parameters and gradients in flat buffers on a device."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rudra.models import build_model, flat_grad, flatten_parameters
from rudra.models.sampling import LearnerStream


def flat_model(spec, input_shape, classes, seed: int, device: torch.device) -> tuple[nn.Module, torch.Tensor,
                                                                                         torch.Tensor]:
    """(model, flat params, flat grads) on `device`; every process gets the same initial weights for `seed`.

    models.flat builds its buffers on the CPU; for another device they are moved
    and the parameter views re-pointed (the one thing models/ does not do).
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
    return model, params, grads


def stream_at(n_samples: int, learner: int, learners: int, minibatch: int, seed: int, mode: str,
              step: int) -> LearnerStream:
    """Learner `learner`'s minibatch stream positioned after `step` minibatches (a stream is a function of that)."""
    stream = LearnerStream(n_samples, learner, learners, minibatch, seed, mode)
    passes, offset = divmod(step * minibatch, len(stream.pool))
    return LearnerStream(n_samples, learner, learners, minibatch, seed, mode, passes, offset)


class Worker:
    """Computes one gradient of the mean loss over a minibatch into the flat gradient buffer."""

    def __init__(self, model: nn.Module, params: torch.Tensor, grads: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor):
        self.model, self.params, self.grads = model, params, grads
        self.x, self.y = x, y
        self.device = params.device
        model.train()

    def gradient(self, indices: np.ndarray) -> float:
        """Fill `grads` with ∇ mean loss over the samples `indices`; returns the loss."""
        idx = torch.from_numpy(indices)
        x, y = self.x[idx].to(self.device, non_blocking=True), self.y[idx].to(self.device, non_blocking=True)
        self.grads.zero_()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        return loss.item()
