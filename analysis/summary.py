"""The one run summary: the same keys, units and meaning for a simulated and a real run.

Computed from a run directory alone: run.json (the driver's derived inputs and
end-of-run facts, see protocol/trace.py run_inputs and run_outcome) and
staleness.csv, learners.csv and metrics.csv, which both drivers write at either
trace detail, so a summary-only trace summarises exactly like a full one.
Seconds are the driver's clock: simulated seconds for a simulated run, wall
seconds for a real one. A driver's extras (its key in run.json, "sim" or
"runtime") are copied under the same key.
"""
from __future__ import annotations

import math
from pathlib import Path

from rudra.protocol import binned_histogram, read_run_json, staleness_summary

from .trace import TraceError, read_csv

CORE = {  # key: unit and meaning
    "status": "finished | failed | running",
    "stopped_by": "what ended the run: epochs | updates | seconds (simulated), or the status",
    "seconds": "s, total run time (a real run's closing evaluation and shutdown included)",
    "gradients": "gradients applied (shard 0; every shard sees every gradient)",
    "updates": "updates applied (shard 0)",
    "epochs": "epochs done: gradients ÷ (N/μ)",
    "training_seconds": "s, the training: up to the update that reached the epochs target, else the whole run (a "
                        "real run evaluates its final weights and shuts down after that update; a simulated run "
                        "does not)",
    "seconds_per_epoch": "s per epoch: training_seconds ÷ epochs (null without a gradient)",
    "time_to_target": "s until the [train] epochs target was reached (null if it was not)",
    "gradients_per_second": "1/s, gradients ÷ training_seconds",
    "updates_per_second": "1/s, updates ÷ training_seconds",
    "samples_per_second": "1/s, gradients·μ ÷ training_seconds",
    "staleness": "σ in versions: count, mean, p50, p99, max (nearest rank)",
    "staleness_histogram": "[[lowest σ of the bin, gradients], ...], at most 100 bins (staleness.csv: every σ)",
    "staleness_bin_width": "σ values per histogram bin (1: exact)",
    "learner_gradients": "gradients applied per learner, indexed by learner id (λ entries)",
    "learner_gradients_per_second": "1/s, {min, mean, max} over the λ learners",
    "lost_learners": "learners that left the run (a real run's details: runtime.lost)",
    "holds": "pulls the protocol held (hardsync barrier, max_staleness)",
    "test_error": "fraction, at the last evaluation (null without one)",
    "train_loss": "mean training loss since the evaluation before the last (null without one)",
}
REQUIRED = ("inputs", "status", "stopped_by", "seconds", "target_seconds", "gradients", "updates", "holds",
            "lost_learners")  # what the summary reads from run.json
DRIVERS = ("sim", "runtime")  # the keys under which a driver's extras live in run.json and the summary


def driver_extra(summary: dict, key: str):
    """The driver's extra `key` (under "sim" or "runtime", whichever the run has), or None where it has none."""
    return next((summary[k][key] for k in DRIVERS if isinstance(summary.get(k), dict) and key in summary[k]), None)


def summarize(run_dir: str | Path) -> dict:
    """The summary of the run in `run_dir` (CORE keys, plus the driver's extras under its own key)."""
    d = Path(run_dir)
    if not (d / "run.json").is_file():
        raise TraceError(f"{d}: no run.json here; expected a run directory written by `rudra simulate` or `rudra train`")
    run = read_run_json(d)
    missing = [k for k in REQUIRED if k not in run]
    if missing:
        raise TraceError(f"{d}/run.json: no {missing[0]!r}; it was written by an older rudra (run it again)")
    inputs, g = run["inputs"], run["gradients"]
    lam, per_epoch = inputs["learners"], inputs["gradients_per_epoch"]
    # a real run's closing evaluation and shutdown (milliseconds, several % of a short run) are not training
    t = run["target_seconds"] if run["stopped_by"] == "epochs" and run["target_seconds"] else run["seconds"]

    def per_second(x: float) -> float:
        return x / t if t > 0 else 0.0

    sigma = read_csv(d / "staleness.csv")
    histogram = dict(zip(sigma.staleness.tolist(), sigma["count"].tolist()))
    width, bins = binned_histogram(histogram)
    counts = [0] * lam
    for learner, n in zip(*(read_csv(d / "learners.csv")[c].tolist() for c in ("learner", "gradients"))):
        counts[learner] = n
    metrics = read_csv(d / "metrics.csv")
    last = metrics.iloc[-1] if len(metrics) else None
    summary = {
        "status": run["status"],
        "stopped_by": run["stopped_by"],
        "seconds": run["seconds"],
        "training_seconds": t,
        "gradients": g,
        "updates": run["updates"],
        "epochs": g / per_epoch,
        "seconds_per_epoch": t * per_epoch / g if g else None,
        "time_to_target": run["target_seconds"],
        "gradients_per_second": per_second(g),
        "updates_per_second": per_second(run["updates"]),
        "samples_per_second": per_second(g * inputs["minibatch"]),
        "staleness": staleness_summary(histogram),
        "staleness_histogram": bins,
        "staleness_bin_width": width,
        "learner_gradients": counts,
        "learner_gradients_per_second": {"min": per_second(min(counts)), "mean": per_second(sum(counts) / lam),
                                         "max": per_second(max(counts))},
        "lost_learners": run["lost_learners"],
        "holds": run["holds"],
        "test_error": _number(last, "test_error"),
        "train_loss": _number(last, "train_loss"),
    }
    summary.update({k: run[k] for k in DRIVERS if k in run})
    return summary


def _number(row, column: str) -> float | None:
    """A metrics cell as a float, None where there is no row or the value is missing (NaN)."""
    if row is None or math.isnan(row[column]):
        return None
    return float(row[column])
