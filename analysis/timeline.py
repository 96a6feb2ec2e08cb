"""A run as a Chrome trace event file (the JSON that Perfetto and chrome://tracing open).

Layout, the same for a simulated and a real run (Trace Event Format):
  process "<run> · server"      one thread per shard that traced updates (shard 0 writes the
                                trace): an instant "update" per applied update at its time t
                                (updates.csv records no update cost, so there is no span to draw)
  process "<run> · learner l"   thread "compute": one complete ("X") span per gradient;
                                async ("b"/"e") spans "pull" (pull sent → compute starts on its
                                weights) and "push" (gradient sent → applied). Messages overlap
                                compute and each other (adv*, pulls sent while a push waits), so
                                they are async slices, which viewers stack, not thread slices,
                                which must nest.
Times are microseconds from run start. A real run's first pull happens while processes start,
before t = 0: spans are clipped at 0 and keep the recorded times in args. Several runs go into
one file as separate processes, so a prediction and a measurement sit side by side.
"""
from __future__ import annotations

import json
from pathlib import Path

from .runs import distinct, kind_of
from .trace import Trace, TraceError, read_trace

US = 1e6


def _us(t: float) -> float:
    """Seconds → microseconds from run start, clipped at 0, rounded to nanoseconds (stable output)."""
    return round(max(t, 0.0) * US, 3)


def _meta(pid: int, name: str, sort: int, tid: int | None = None) -> list[dict]:
    """Name and sort position of a process (tid None) or of one of its threads."""
    if tid is None:
        return [{"ph": "M", "pid": pid, "name": "process_name", "args": {"name": name}},
                {"ph": "M", "pid": pid, "name": "process_sort_index", "args": {"sort_index": sort}}]
    return [{"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": name}},
            {"ph": "M", "pid": pid, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": sort}}]


def _message(name: str, pid: int, key: str, t0: float, t1: float, args: dict) -> list[dict]:
    """One async span (begin and end) of a message, keyed per learner and step."""
    common = {"cat": name, "name": name, "pid": pid, "tid": 0, "id": key}
    return [{**common, "ph": "b", "ts": _us(t0), "args": args}, {**common, "ph": "e", "ts": _us(max(t0, t1))}]


def run_events(trace: Trace, label: str, first_pid: int) -> list[dict]:
    """The events of one run, its processes numbered from `first_pid` (server first, then learners)."""
    if trace.gradients is None:
        raise TraceError(f"{trace.dir}: no gradients.csv (written with trace = \"summary\"); a timeline needs "
                         "trace = \"full\" in [sim] or [runtime]")
    server = first_pid
    events = _meta(server, f"{label} · server", server) + _meta(server, "shard 0", 0, tid=0)
    for u in trace.updates.itertuples(index=False):
        events.append({"ph": "i", "s": "t", "name": "update", "cat": "update", "pid": server, "tid": 0,
                       "ts": _us(u.t), "args": {"version": int(u.version), "gradients": int(u.n_gradients),
                                                "lr": float(u.lr)}})
    learners = sorted(set(trace.gradients.learner.tolist()))
    pids = {l: server + 1 + k for k, l in enumerate(learners)}
    for l, pid in pids.items():
        events += _meta(pid, f"{label} · learner {l}", pid) + _meta(pid, "compute", 0, tid=0)
    for g in trace.gradients.itertuples(index=False):
        pid, key = pids[g.learner], f"{g.learner}.{g.step}"
        args = {"step": int(g.step), "pulled_version": int(g.pulled_version), "staleness": int(g.staleness)}
        events.append({"ph": "X", "name": "compute", "cat": "compute", "pid": pid, "tid": 0,
                       "ts": _us(g.t_compute_start), "dur": round(_us(g.t_compute_end) - _us(g.t_compute_start), 3),
                       "args": args})
        events += _message("pull", pid, key, g.t_pull, g.t_compute_start,
                           {"step": int(g.step), "version": int(g.pulled_version), "t_pull_s": float(g.t_pull)})
        events += _message("push", pid, key, g.t_push, g.t_applied,
                           {"step": int(g.step), "applied_version": int(g.applied_version)})
    return events


def timeline(run_dirs: list[str | Path], out: str | Path) -> dict:
    """Write the runs' trace event JSON to `out`; returns counts of what it holds."""
    traces = [read_trace(d) for d in run_dirs]
    events: list[dict] = []
    names = distinct([kind_of(t.run) for t in traces], [t.dir for t in traces])
    for trace, label in zip(traces, names):  # pids from 1: some viewers treat pid 0 as the idle process
        events += run_events(trace, label, first_pid=max((e["pid"] for e in events), default=0) + 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"traceEvents": events, "displayTimeUnit": "ms",
           "otherData": {"runs": [str(t.dir) for t in traces], "time": "microseconds from each run's start"}}
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    return {"runs": len(traces), "gradients": sum(len(t.gradients) for t in traces),
            "updates": sum(len(t.updates) for t in traces), "events": len(events)}
