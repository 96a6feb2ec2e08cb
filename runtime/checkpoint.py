"""Checkpoints: one file per shard, written atomically (write, then rename), read back with weights_only=True.

A checkpoint holds plain tensors, numbers, strings, lists and dicts only:
the shard's weights slice, its optimizer state, the version, the gradients
applied, each learner's data-stream position (minibatches applied), the run
clock, and (shard 0) the trace as it stood, so a resumed run cuts the trace
back to that point and appends from there.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from rudra.protocol import TraceWriter

from .errors import LaunchError

APPENDED = ("updates.csv", "gradients.csv", "metrics.csv")
REWRITTEN = ("staleness.csv", "learners.csv")


def checkpoint_path(out: Path, shard: int) -> Path:
    return Path(out) / "checkpoints" / f"shard{shard}.pt"


def save(out: Path, shard: int, state: dict) -> None:
    """Write shard `shard`'s checkpoint atomically."""
    path = checkpoint_path(out, shard)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(out: Path, shard: int) -> dict:
    """Shard `shard`'s checkpoint; LaunchError if there is none."""
    path = checkpoint_path(out, shard)
    if not path.is_file():
        raise LaunchError(f"--resume {out}: no checkpoint {path.relative_to(out)} "
                          "(runs write them only with runtime.checkpoint_every > 0)")
    return torch.load(path, weights_only=True)


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
