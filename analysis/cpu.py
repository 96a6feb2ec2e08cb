"""The CPU a run charged per gradient, read the same way from a simulated and a real run.

A real run's run.json counts each process's CPU seconds (runtime.cpu_seconds: the learners', of which their
computes', and shard 0's server process); the simulator books the CPU its model charges in the same shape
(sim.cpu_seconds). Held side by side they tell an error in the work the model charges from one in the waiting
it predicts: a time per epoch off by as much as the CPU is a cost misread, one off with the CPU right is the
model of sharing and waking.
"""
from __future__ import annotations

from .summary import driver_extra

PARTS = ("learner compute", "learner besides compute", "server, shard 0")


def cpu_per_gradient(summary: dict) -> dict[str, float] | None:
    """Seconds of CPU per gradient applied by part (PARTS), or None where the run recorded none (older runs, a
    run without gradients)."""
    cpu = driver_extra(summary, "cpu_seconds")
    gradients = summary.get("gradients")
    if not cpu or "learners_compute" not in cpu or not gradients:
        return None
    server = cpu["server"][0] if isinstance(cpu["server"], list) else cpu["server"]
    learners, compute = sum(cpu["learners"]), sum(cpu["learners_compute"])
    return dict(zip(PARTS, (compute / gradients, (learners - compute) / gradients, server / gradients)))
