"""What every process of a run derives identically from the config: specs, layout, sizes and targets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rudra.models.spec import DataSpec, ModelSpec
from rudra.protocol import LrSchedule, ProtocolSpec, TrainSpec

from .layout import Layout, shard_bounds
from .spec import RuntimeSpec


@dataclass(frozen=True)
class Plan:
    """One run, as each role sees it (picklable: it travels to spawned processes)."""

    protocol: ProtocolSpec
    train: TrainSpec
    model: ModelSpec
    data: DataSpec
    runtime: RuntimeSpec
    seed: int
    out: Path
    config: dict
    progress: bool
    resume: bool
    layout: Layout
    train_samples: int  # N
    input_shape: tuple[int, ...]
    classes: int
    parameters: int     # size of the flat buffer

    @property
    def per_epoch(self) -> float:
        """N/μ: gradients (across all learners) per epoch."""
        return self.train.gradients_per_epoch(self.train_samples)

    @property
    def target(self) -> int:
        """Gradients to apply before the run is complete."""
        return self.train.target_gradients(self.train_samples)

    def schedule(self) -> LrSchedule:
        return self.train.schedule(self.train_samples)

    def bounds(self) -> list[tuple[int, int]]:
        """Each shard's [start, stop) in the flat buffer."""
        return shard_bounds(self.parameters, self.protocol.shards)

    @property
    def wait(self) -> float:
        """Seconds a learner waits for its server before giving up (the server may wait `timeout` on others)."""
        return 2 * self.runtime.timeout
