"""Where a gradient's time goes, read the same way from a simulated and a real full trace.

Its compute (t_compute_start → t_compute_end), its exchange (→ t_push, when the filled push leaves), push →
applied (→ t_applied: the way to the server, its queue, the update) and its learner's cycle (one push to the
next: what is left of it is the wait for the next weights, a barrier's hold and getting a core). Means over
each learner's steady gradients: its first STEADY pay the start-up and warm-up once.
"""
from __future__ import annotations

from pathlib import Path

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
