"""Checkpoints: one typed record per shard, written atomically (write, then rename), read back with
weights_only=True (the file holds plain tensors, numbers, strings, lists and dicts only)."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from rudra.protocol import TraceWriter

from .errors import LaunchError

APPENDED = ("updates.csv", "gradients.csv", "metrics.csv")
REWRITTEN = ("staleness.csv", "learners.csv")


@dataclass
class CheckpointRecord:
    """What a shard needs to go on where it stopped; shard 0's also holds the trace as it stood, so a resumed
    run cuts the trace back to that point and appends from there."""

    shard: int
    weights: torch.Tensor       # this shard's slice
    optimizer: dict             # its SGD state (momentum buffer)
    version: int
    gradients_applied: int
    t: float                    # the run clock, which goes on across resumes
    epoch: float
    applied: list[int]          # per learner: minibatches applied here, its data-stream position
    next_eval: int              # index of the next evaluation point
    holds: int
    checkpoints: int            # checkpoints written, this one included
    resumed: int                # how many times the run was resumed before this checkpoint
    lost: list[dict]            # learners lost so far (history: a resumed run starts all λ again)
    metrics: dict               # the last evaluation
    trace: dict | None = None   # shard 0: trace_snapshot()


def checkpoint_path(out: Path, shard: int) -> Path:
    return Path(out) / "checkpoints" / f"shard{shard}.pt"


def save(out: Path, record: CheckpointRecord) -> None:
    """Write the record's shard's checkpoint atomically."""
    path = checkpoint_path(out, record.shard)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save({f.name: getattr(record, f.name) for f in fields(record)}, tmp)
    os.replace(tmp, path)


def load(out: Path, shard: int) -> CheckpointRecord:
    """Shard `shard`'s checkpoint; LaunchError if there is none."""
    path = checkpoint_path(out, shard)
    if not path.is_file():
        raise LaunchError(f"--resume {out}: no checkpoint {path.relative_to(out)} "
                          "(runs write them only with runtime.checkpoint_every > 0)")
    return CheckpointRecord(**torch.load(path, weights_only=True))


def trace_snapshot(writer: TraceWriter) -> dict:
    """The trace files as they stand now: sizes of the appended ones, text of the rewritten ones."""
    writer.flush()
    d = writer.dir
    return {"sizes": {n: (d / n).stat().st_size for n in APPENDED if (d / n).exists()},
            "texts": {n: (d / n).read_text() for n in REWRITTEN if (d / n).exists()}}


def restore_trace(out: Path, snapshot: dict) -> None:
    """Cut the trace back to `snapshot` (rows written after the checkpoint are dropped)."""
    for name, size in snapshot["sizes"].items():
        with open(Path(out) / name, "r+b") as f:
            f.truncate(size)
    for name, text in snapshot["texts"].items():
        (Path(out) / name).write_text(text)
