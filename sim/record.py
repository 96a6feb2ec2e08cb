"""What a simulated run records in run.json besides its config: the end-of-run facts every driver
records (protocol.trace.run_outcome), from which rudra.analysis computes the shared summary, and the
simulator's own figures under "sim".

"sim" keys (times in simulated seconds):
  shard_staleness_mean     ⟨σ⟩ per shard (adv, adv*: shards decide independently)
  server_utilisation       per shard: share of the run spent applying updates
  nic_utilisation          {"in": [...], "out": [...]} per shard NIC direction
  learner_compute_utilisation  share of learner time spent computing (mean over learners)
  cpu_seconds              CPU the model charged, in a real run's runtime.cpu_seconds shape: "learners" (all of
                           each one's), "learners_compute" (its computes'), "server" (per shard): work booked
                           as it starts, without the time sharing a node stretches it by
  push_path                where shard 0's push → applied goes, as a real run's runtime.push_path: mean seconds
                           received, queued, served over the applied gradients (protocol.trace.PUSH_PATH; null
                           each without a full trace)
  stragglers               learners slowed by straggler_fraction
  speedup                  gradients/s over that of one learner of the cluster's mean speed on the same
                           cluster (null if not simulated)
"""
from __future__ import annotations

from rudra.protocol import staleness_summary
from rudra.protocol.trace import PUSH_PATH, run_outcome

from .cluster import Cluster


def _share(busy: float, t: float) -> float:
    """Busy share of the run's span (Cluster counts busy time inside it only, so this never exceeds 1)."""
    return busy / t if t > 0 else 0.0


def outcome(c: Cluster) -> dict:
    """The end-of-run facts of a finished run (shard 0's counts: every shard sees every gradient)."""
    s0 = c.shards[0]
    return run_outcome(status="finished", stopped_by=c.stopped_by, seconds=c.t_end,
                       target_seconds=c.t_end if c.stopped_by == "epochs" else None, gradients=s0.gradients,
                       updates=s0.updates, holds=c.holds, lost_learners=0)


def extras(c: Cluster, baseline_rate: float | None) -> dict:
    """The simulator's own figures; `baseline_rate` is λ = 1's gradients/s (None: not simulated)."""
    t = c.t_end
    s0 = c.shards[0]
    *sums, n = c.path
    mean0 = staleness_summary(c.writer.histogram)["mean"] if c.writer is not None else None
    return {
        "shard_staleness_mean": [mean0 if sh.index == 0 else sh.sigma_sum / sh.gradients if sh.gradients else None
                                 for sh in c.shards],
        "server_utilisation": [_share(sh.busy, t) for sh in c.shards],
        "nic_utilisation": {"in": [_share(n.busy, t) for n in c.net.shard_in],
                            "out": [_share(n.busy, t) for n in c.net.shard_out]},
        "learner_compute_utilisation": _share(c.compute_seconds, t * c.lam),
        "cpu_seconds": {"learners": c.learner_cpu, "learners_compute": c.learner_compute_cpu,
                        "server": [sh.cpu for sh in c.shards]},
        "push_path": dict(zip(PUSH_PATH, (part / n if n else None for part in sums))),
        "stragglers": c.compute.stragglers,
        "speedup": s0.gradients / t / baseline_rate if baseline_rate and t > 0 else None,
    }
