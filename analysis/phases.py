"""Where a gradient's time goes, read the same way from a simulated and a real full trace.

Its compute (t_compute_start → t_compute_end), its exchange (→ t_push, when the filled push leaves), push →
applied (→ t_applied: the way to the server, its queue, the update) and its learner's cycle (one push to the
next: what is left of it is the wait for the next weights, a barrier's hold and getting a core). Means over
each learner's steady gradients: its first STEADY pay the start-up and warm-up once. And the quantiles of the
gap from a compute's end to the learner's next compute: the waits' shape, which the means hide. Push → applied
is split further as shard 0 timed it, each driver in its run.json (protocol.trace.PUSH_PATH).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rudra.protocol.trace import PUSH_PATH

from .summary import driver_extra
from .trace import read_csv

PHASES = {  # name: (from, to) columns of gradients.csv
    "compute": ("t_compute_start", "t_compute_end"),
    "exchange": ("t_compute_end", "t_push"),
    "push → applied": ("t_push", "t_applied"),
}
CYCLE = "learner cycle"
STEADY = 5
GAP_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}  # of a learner's gaps (gap_quantiles)


def steady_gradients(run_dir: str | Path) -> pd.DataFrame | None:
    """The run's gradient rows from each learner's STEADY-th on, by learner and step; None where the trace has
    none (trace = "summary")."""
    path = Path(run_dir) / "gradients.csv"
    if not path.exists():
        return None
    g = read_csv(path)
    return g[g.step >= STEADY].sort_values(["learner", "step"])


def phases(g: pd.DataFrame | None) -> dict[str, float] | None:
    """Mean seconds of each phase and of the cycle over steady gradients `g` (steady_gradients), or None where
    there are none or no learner has two."""
    if g is None:
        return None
    cycles = g.groupby("learner").t_push.diff().dropna()
    if cycles.empty:
        return None
    means = {name: float((g[b] - g[a]).mean()) for name, (a, b) in PHASES.items()}
    return {**means, CYCLE: float(cycles.mean())}


def gap_quantiles(g: pd.DataFrame | None) -> dict[str, float] | None:
    """GAP_QUANTILES of the seconds from each steady compute's end to its learner's next compute's start (`g`:
    steady_gradients): the waits for weights and for a core, whose shape the means above hide (a few waits of a
    time slice and many short ones can have one mean); None where no learner has two steady gradients."""
    if g is None:
        return None
    gaps = (g.groupby("learner").t_compute_start.shift(-1) - g.t_compute_end).dropna().to_numpy()
    if not len(gaps):
        return None
    return {name: float(np.quantile(gaps, q)) for name, q in GAP_QUANTILES.items()}


def pulls_per_gradient(g: pd.DataFrame) -> float:
    """Pulls over the steady gradients `g` (steady_gradients, not empty): each learner's distinct t_pull over its
    gradients. 1 where every gradient pulls its weights (base, adv); under adv* a learner computes on until fresh
    weights come, so the longer a pull takes, the fewer there are and the staler its gradients."""
    return float(g.groupby("learner").t_pull.nunique().sum() / len(g))


def push_path(summary: dict) -> dict[str, float] | None:
    """Mean seconds of each part of shard 0's push → applied (PUSH_PATH: received, queued, served) as the run
    recorded them (runtime.push_path, sim.push_path), or None where it has none (a simulation without a full
    trace, a run written before they were recorded)."""
    path = driver_extra(summary, "push_path")
    if not path or any(path.get(part) is None for part in PUSH_PATH):
        return None
    return {part: path[part] for part in PUSH_PATH}
