"""The run summary stored in run.json and printed by `rudra simulate`.

Keys (times in simulated seconds; rates per simulated second):
  simulated_seconds        time at which the run stopped
  stopped_by               "epochs", "updates" or "seconds"
  gradients, updates       applied on shard 0 (every shard sees every gradient)
  epochs, seconds_per_epoch  epoch = N/μ gradients
  gradients_per_second, updates_per_second
  staleness                count, mean ⟨σ⟩, p50, p99, max (shard 0)
  staleness_histogram      [[lowest σ of the bin, count], ...]: at most 100 bins (staleness.csv: every σ)
  staleness_bin_width      σ values per bin (1: exact)
  shard_staleness_mean     ⟨σ⟩ per shard (adv, adv*: shards decide independently)
  server_utilisation       per shard: share of time spent applying updates
  nic_utilisation          {"in": [...], "out": [...]} per shard NIC direction
  learner_compute_utilisation  share of learner time spent computing (mean over learners)
  learner_gradients_per_second {min, mean, max} over learners (per learner: learners.csv)
  stragglers               learners slowed by straggler_fraction
  holds                    pulls the protocol held (hardsync barrier, max_staleness)
  speedup                  gradients/s over that of λ = 1 on the same cluster (null if not simulated)
"""
from __future__ import annotations

from rudra.protocol import binned_histogram, staleness_summary

from .cluster import Cluster


def _share(busy: float, t: float) -> float:
    return min(1.0, busy / t) if t > 0 else 0.0


def summarize(c: Cluster, baseline_rate: float | None) -> dict:
    """The summary of a finished run; `baseline_rate` is λ = 1's gradients/s (None: not simulated)."""
    t = c.t_end
    s0 = c.shards[0]
    rate = s0.gradients / t if t > 0 else 0.0
    per_epoch = c.per_epoch
    hist = dict(c.writer.histogram) if c.writer is not None else {}
    per_learner = c.writer.per_learner if c.writer is not None else {}
    counts = [per_learner.get(l, (0, 0))[0] for l in range(c.lam)]
    staleness = staleness_summary(hist)
    width, bins = binned_histogram(hist)
    return {
        "simulated_seconds": t,
        "stopped_by": c.stopped_by,
        "gradients": s0.gradients,
        "updates": s0.updates,
        "epochs": s0.gradients / per_epoch,
        "seconds_per_epoch": t * per_epoch / s0.gradients if s0.gradients else None,
        "gradients_per_second": rate,
        "updates_per_second": s0.updates / t if t > 0 else 0.0,
        "staleness": staleness,
        "staleness_histogram": bins,
        "staleness_bin_width": width,
        "shard_staleness_mean": [staleness["mean"] if sh.index == 0 else sh.sigma_sum / sh.gradients
                                 if sh.gradients else None for sh in c.shards],
        "server_utilisation": [_share(sh.busy, t) for sh in c.shards],
        "nic_utilisation": {"in": [_share(n.busy, t) for n in c.net.shard_in],
                            "out": [_share(n.busy, t) for n in c.net.shard_out]},
        "learner_compute_utilisation": _share(c.compute_seconds, t * c.lam),
        "learner_gradients_per_second": {"min": min(counts) / t if t > 0 else 0.0,
                                         "mean": sum(counts) / c.lam / t if t > 0 else 0.0,
                                         "max": max(counts) / t if t > 0 else 0.0},
        "stragglers": c.compute.stragglers,
        "holds": c.holds,
        "speedup": rate / baseline_rate if baseline_rate else None,
    }
