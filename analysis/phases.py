"""Where a gradient's time goes, read the same way from a simulated and a real full trace.

Its compute (t_compute_start → t_compute_end), its exchange (→ t_push, when the filled push leaves), push →
applied (→ t_applied: the way to the server, its queue, the update) and its learner's cycle (one push to the
next: what is left of it is the wait for the next weights, a barrier's hold and getting a core). Means over
each learner's steady gradients: its first STEADY pay the start-up and warm-up once.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .trace import read_csv

PHASES = {  # name: (from, to) columns of gradients.csv
    "compute": ("t_compute_start", "t_compute_end"),
    "exchange": ("t_compute_end", "t_push"),
    "push → applied": ("t_push", "t_applied"),
}
CYCLE = "learner cycle"
STEADY = 5


def phases(run_dir: str | Path) -> dict[str, float] | None:
    """Mean seconds of each phase and of the cycle, or None where the trace has no gradient rows (trace =
    "summary") or no learner has two steady gradients."""
    path = Path(run_dir) / "gradients.csv"
    if not path.exists():
        return None
    g = read_csv(path)
    g = g[g.step >= STEADY].sort_values(["learner", "step"])
    cycles = g.groupby("learner").t_push.diff().dropna()
    if cycles.empty:
        return None
    means = {name: float((g[b] - g[a]).mean()) for name, (a, b) in PHASES.items()}
    return {**means, CYCLE: float(cycles.mean())}


def gaps(run_dirs: Iterable[str | Path]) -> np.ndarray:
    """Seconds from each steady compute's end to its learner's next compute's start, pooled over the runs with a
    full trace (none: empty): the waits for weights and for a core, whose shape the means above hide (a few
    waits of a time slice or many short ones can have one mean)."""
    pooled = []
    for run_dir in run_dirs:
        path = Path(run_dir) / "gradients.csv"
        if path.exists():
            g = read_csv(path)
            g = g[g.step >= STEADY].sort_values(["learner", "step"])
            pooled.append((g.groupby("learner").t_compute_start.shift(-1) - g.t_compute_end).dropna().to_numpy())
    return np.concatenate(pooled) if pooled else np.empty(0)
