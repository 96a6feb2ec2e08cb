"""Learning-rate policies and the epoch schedule, independent of the protocol.

A policy answers two questions for an update of c gradients: the step's
learning rate, and each gradient's scale inside Σ (scale already includes
the 1/c averaging). Schedules turn α₀ into α₀·γ^k after the k-th step epoch.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LrSchedule:
    """α₀ multiplied by `gamma` at each epoch in `steps`; epochs counted in gradients."""

    base: float
    steps: tuple[float, ...] = ()
    gamma: float = 0.1
    gradients_per_epoch: float = math.inf

    def at(self, gradients_applied: int) -> float:
        """Scheduled base rate after `gradients_applied` gradients."""
        if not self.steps:
            return self.base
        epoch = gradients_applied / self.gradients_per_epoch
        return self.base * self.gamma ** bisect.bisect_right(self.steps, epoch)

    def holds_until(self, gradients_applied: int) -> float:
        """A gradient count > `gradients_applied` before which `at` cannot change (inf: never), so
        callers may keep the rate until then; it may come early, never late."""
        k = bisect.bisect_right(self.steps, gradients_applied / self.gradients_per_epoch)
        if k == len(self.steps):
            return math.inf
        return max(gradients_applied + 1, math.floor(self.steps[k] * self.gradients_per_epoch))


class Constant:
    """α = α₀ for every gradient."""

    def lr(self, base: float) -> float:
        return base

    def scale(self, staleness: int, c: int) -> float:
        return 1.0 / c


class MeanStaleness:
    """α = α₀ / n: the paper's α₀/⟨σ⟩ for n-softsync (n = λ for async, 1 for hardsync)."""

    def __init__(self, softness: int):
        self.softness = softness

    def lr(self, base: float) -> float:
        return base / self.softness

    def scale(self, staleness: int, c: int) -> float:
        return 1.0 / c


class PerGradient:
    """Each gradient scaled by 1 / max(σ, 1): the staleness-aware rule of arXiv 1511.05950."""

    def lr(self, base: float) -> float:
        return base

    def scale(self, staleness: int, c: int) -> float:
        return 1.0 / (c * staleness) if staleness > 1 else 1.0 / c


def make_policy(name: str, softness: int) -> Constant | MeanStaleness | PerGradient:
    """The policy called `name` in `[protocol] lr_policy`."""
    if name == "constant":
        return Constant()
    if name == "mean-staleness":
        return MeanStaleness(softness)
    if name == "per-gradient":
        return PerGradient()
    raise ValueError(f"unknown lr_policy {name!r}")
