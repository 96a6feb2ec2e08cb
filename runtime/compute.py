"""A learner's compute: its minibatch stream positioned at a step, and one gradient per minibatch of its data
on its device (the gradient itself is models/step.py's, shared with the simulator)."""
from __future__ import annotations

import numpy as np
import torch

from rudra.models.sampling import LearnerStream
from rudra.models.step import FlatNet


def stream_at(n_samples: int, learner: int, learners: int, minibatch: int, seed: int, mode: str,
              step: int) -> LearnerStream:
    """Learner `learner`'s minibatch stream positioned after `step` minibatches (a stream is a function of that)."""
    stream = LearnerStream(n_samples, learner, learners, minibatch, seed, mode)
    passes, offset = divmod(step * minibatch, len(stream.pool))
    return LearnerStream(n_samples, learner, learners, minibatch, seed, mode, passes, offset)


class Worker:
    """Computes one gradient of the mean loss over a minibatch of (x, y) into the net's flat gradient buffer."""

    def __init__(self, net: FlatNet, x: torch.Tensor, y: torch.Tensor):
        self.net, self.x, self.y = net, x, y
        self.params, self.grads = net.params, net.grads
        self.device = net.params.device

    def gradient(self, indices: np.ndarray) -> float:
        """Fill `grads` with ∇ mean loss over the samples `indices` at the weights in `params`; returns the loss."""
        idx = torch.from_numpy(indices)
        x, y = self.x[idx].to(self.device, non_blocking=True), self.y[idx].to(self.device, non_blocking=True)
        return self.net.gradient(x, y)
