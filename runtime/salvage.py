"""What a run that did not end by itself leaves behind: a trace cut back to whole updates, and a run.json that
says how the run ended.

Shard 0 writes the trace through buffered files and flushes them at
checkpoints and at the end. Killed (kill -9, an interrupt that ends every
process), it leaves the files cut anywhere: a row cut short, gradients whose
update row never reached the disk, histograms as of the last flush, run.json
still saying "running". The launcher outlives it and settles the directory:

  * every file ends with a whole row;
  * gradients.csv holds no row past the last updates.csv row (a gradient is
    in the trace only with the update that applied it);
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
    updates = _rows(out / "updates.csv")
    last = int(updates[-1]["version"]) if updates else 0
    full = plan.runtime.trace == "full"
    gradients = _cut_after(out / "gradients.csv", last) if full else []
    if full:  # the histograms follow the rows kept
        for name in REWRITTEN:
            (out / name).unlink(missing_ok=True)
    writer = TraceWriter(out, detail=plan.runtime.trace, append=True)
    if full:
        writer.tally.add(Applied(int(g["learner"]), int(g["step"]), int(g["pulled_version"]), int(g["staleness"]),
                                 float(g["scale"]), None) for g in gradients)
    applied = sum(writer.histogram.values())
    writer.close()
    metrics = _rows(out / "metrics.csv")
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


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _cut_after(path: Path, last: int) -> list[dict]:
    """Truncate gradients.csv before its first row applied to version `last` or later (their update row is
    missing); the rows kept."""
    if not path.exists():
        return []
    with open(path, "rb") as f:
        lines = f.readlines()
    column = lines[0].decode().rstrip("\n").split(",").index("applied_version")
    kept, size = 1, len(lines[0])  # the header
    for line in lines[1:]:
        if int(line.split(b",")[column]) >= last:  # the update that applied it is version applied_version + 1
            break
        kept, size = kept + 1, size + len(line)
    with open(path, "r+b") as f:
        f.truncate(size)
    return list(csv.DictReader(line.decode() for line in lines[:kept]))
