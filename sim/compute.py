"""Learner compute time per minibatch: the compute law at μ ÷ speed × straggler factor × per-step jitter.

The law (ClusterSpec.minibatch_time) is compute_overhead + sample_seconds × μ, or
a minibatch_seconds measured at this μ; these are times alone on a node (core
sharing, where a node has more busy processes than cores, is sim/cores.py's).
A minibatch whose learner idled longer since its previous compute than the
learner the law was measured on costs cold_seconds more (ClusterSpec.cold_time,
charged by sim/cluster.py): other work refilled its caches meanwhile. That is a
time, not a factor: the cnn's extra after 4 or 16 ms idle was the same at μ = 8
and 32. On a node of n processes, compute_inflation was measured with
learner-like processes that idled inflation_idle between computes (their pause
and their waits for a core) and holds that idle's cold cost: a learner there
pays only what a longer idle costs beyond it (the cnn's at n = 5 idled 2.8 ms,
0.13 ms of cold cost in its 2.64 ms).
"""
from __future__ import annotations

import numpy as np

from .distributions import Stream, factors
from .spec import ClusterSpec


class ComputeModel:
    """Draws each learner's fixed speed once, then one jittered time per minibatch: learner l's next minibatch
    takes times[l] × jitter() seconds (read so by the cluster: a list index and a C-level draw, no Python
    call per gradient; without jitter, jitter() is 1.0)."""

    def __init__(self, cluster: ClusterSpec, learners: int, minibatch: int, seq: np.random.SeedSequence):
        speed_seq, pick_seq, step_seq = seq.spawn(3)
        base = cluster.minibatch_time(minibatch)
        if cluster.speeds:
            speeds = np.asarray(cluster.speeds, dtype=float)
        else:
            speeds = factors(np.random.default_rng(speed_seq), cluster.speed_dist, cluster.speed_cv, learners)
        k = round(cluster.straggler_fraction * learners)
        picked = np.random.default_rng(pick_seq).choice(learners, size=k, replace=False) if k else np.empty(0, int)
        self.stragglers: list[int] = sorted(int(l) for l in picked)
        slow = np.ones(learners)
        slow[picked] = cluster.straggler_slowdown
        self.times: list[float] = (base / speeds * slow).tolist()
        self.mean_speed = float(np.mean(speeds / slow))  # always-slowed stragglers count at their slowed speed
        self.jitter = Stream(np.random.default_rng(step_seq), cluster.jitter_dist, cluster.jitter_cv,
                             cluster.straggler_prob, cluster.straggler_slowdown).draw
