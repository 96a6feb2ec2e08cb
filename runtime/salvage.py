"""What a run that did not end by itself leaves behind: a trace cut back to whole updates, and a run.json that
says how the run ended.

Shard 0 writes the trace through buffered files and flushes them at
checkpoints and at the end. Killed (kill -9, an interrupt that ends every
process), it leaves the files cut anywhere: a row cut short, gradients whose
update row never reached the disk, histograms as of the last flush, run.json
still saying "running". The launcher outlives it and settles the directory:

  * every file ends with a whole row;
  * updates.csv and gradients.csv end at the last update whose gradient rows
    are all there (a gradient is in the trace only with the update that
    applied it, and an update only with its gradients), metrics.csv at the
    last evaluation of weights that are still in the trace;
  * staleness.csv and learners.csv are counted again from gradients.csv (a
    summary-only trace keeps them as last flushed);
  * run.json says "failed" or "interrupted" with the reason, and counts what
    the trace now holds (what the server knew alone, holds and lost
    learners, is unknown: null).

A server that failed by itself wrote its own run.json ("failed") and closed
its trace; settle leaves such a run alone.
"""
from __future__ import annotations

import csv
from pathlib import Path

from rudra.protocol import Applied, TraceWriter, read_run_json, write_run_json
from rudra.protocol.trace import run_outcome

from .checkpoint import APPENDED, REWRITTEN
from .plan import Plan


def settle(plan: Plan, status: str, reason: str) -> None:
    """Leave `plan.out` consistent and saying `status` ("failed" or "interrupted") for `reason`, if the run
    there still says "running"."""
    out = Path(plan.out)
    try:
        run = read_run_json(out)
    except (OSError, ValueError):
        return  # shard 0 never wrote one: there is no trace to settle
    if run.get("status") != "running":
        return
    for name in APPENDED:
        _whole_rows(out / name)
    full = plan.runtime.trace == "full"
    updates, gradients = _whole_updates(out) if full else ([], [])
    if full:  # the histograms follow the rows kept
        for name in REWRITTEN:
            (out / name).unlink(missing_ok=True)
    writer = TraceWriter(out, detail=plan.runtime.trace, append=True)
    writer.tally.add(Applied(int(g["learner"]), int(g["step"]), int(g["pulled_version"]), int(g["staleness"]),
                             float(g["scale"]), None) for g in gradients)
    applied = sum(writer.histogram.values())
    writer.close()
    metrics = _table(out / "metrics.csv")
    if full:  # no evaluation past the gradients kept (epochs rise row by row)
        metrics = metrics[:sum(float(r["epoch"]) * plan.per_epoch <= applied + 1e-6 for r in metrics)]
        _keep(out / "metrics.csv", len(metrics))
    last = int(updates[-1]["version"]) if updates else 0
    seconds = max([float(r["t"]) for r in updates[-1:] + metrics[-1:]], default=0.0)
    write_run_json(out, {**run, **run_outcome(status=status, stopped_by=status, seconds=seconds, target_seconds=None,
                                              gradients=applied, updates=last, holds=None, lost_learners=None),
                         "runtime": {**run.get("runtime", {}), "error": reason}})


def _whole_rows(path: Path) -> None:
    """Drop a last row cut short (no newline after it); a file without even its whole header goes (the
    writer makes it again)."""
    if not path.exists():
        return
    with open(path, "r+b") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            f.truncate(end)
    if end == 0:
        path.unlink()


def _whole_updates(out: Path) -> tuple[list[dict], list[dict]]:
    """Cut updates.csv and gradients.csv back to the last update whose gradient rows are all there (the two
    files reach the disk separately); the rows kept of each."""
    updates, gradients = _table(out / "updates.csv"), _table(out / "gradients.csv")
    u = g = 0
    while u < len(updates):
        n, applied = int(updates[u]["n_gradients"]), int(updates[u]["version"]) - 1
        rows = gradients[g:g + n]
        if len(rows) < n or any(int(r["applied_version"]) != applied for r in rows):
            break
        u, g = u + 1, g + n
    _keep(out / "updates.csv", u)
    _keep(out / "gradients.csv", g)
    return updates[:u], gradients[:g]


def _table(path: Path) -> list[dict]:
    """The rows of a trace CSV file ([] if there is none); every value a string."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _keep(path: Path, n: int) -> None:
    """Truncate a CSV file after its header and first `n` rows."""
    if path.exists():
        with open(path, "r+b") as f:
            f.truncate(sum(len(line) for _, line in zip(range(n + 1), f)))
