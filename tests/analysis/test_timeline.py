"""`rudra timeline` writes Chrome trace event JSON: one compute span per gradient, one update event
per update, message spans that open and close, and thread slices that nest (what viewers require)."""
import json
from collections import Counter, defaultdict

import pandas as pd
import pytest

from rudra.analysis.timeline import timeline
from rudra.cli import main
from tests.analysis.conftest import simulate


def check_format(doc: dict) -> list[dict]:
    """The Trace Event Format rules a viewer relies on; returns the events."""
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    for e in events:
        assert e["ph"] in {"M", "X", "i", "b", "e"} and isinstance(e["pid"], int) and isinstance(e["name"], str)
        if e["ph"] != "M":
            assert isinstance(e["tid"], int) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
    opened = Counter((e["pid"], e["cat"], e["id"]) for e in events if e["ph"] == "b")
    closed = Counter((e["pid"], e["cat"], e["id"]) for e in events if e["ph"] == "e")
    assert opened == closed and max(opened.values()) == 1
    spans = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            spans[e["pid"], e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
    for track in spans.values():  # slices on one thread never overlap partially (here: never at all)
        track.sort()
        assert all(end <= start + 1e-6 for (_, end), (start, _) in zip(track, track[1:]))  # ts + dur: float sum
    return events


def test_one_compute_span_per_gradient_and_one_update_per_update(runs, tmp_path):
    out = tmp_path / "t.json"
    assert main(["timeline", str(runs["sim"]), "--out", str(out)]) == 0
    events = check_format(json.loads(out.read_text()))
    grads = pd.read_csv(runs["sim"] / "gradients.csv")
    updates = pd.read_csv(runs["sim"] / "updates.csv")
    computes = [e for e in events if e["name"] == "compute" and e["ph"] == "X"]
    assert len(computes) == len(grads)
    assert sorted((e["pid"], e["args"]["step"]) for e in computes) == sorted(
        zip(grads.learner + 2, grads.step))  # pid 1 is the server, learner l is pid l + 2
    assert sum(e["dur"] for e in computes) == pytest.approx(1e6 * (grads.t_compute_end - grads.t_compute_start).sum())
    update_events = [e for e in events if e["name"] == "update"]
    assert [e["args"]["version"] for e in update_events] == updates.version.tolist()
    assert [e["ts"] for e in update_events] == pytest.approx((1e6 * updates.t).tolist())
    names = {e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert names == {"sim · server"} | {f"sim · learner {l}" for l in range(3)}
    for message in ("push", "pull"):
        assert sum(e["ph"] == "b" and e["name"] == message for e in events) == len(grads)


def test_sim_and_real_side_by_side_in_one_file(runs, tmp_path):
    out = tmp_path / "both.json"
    counts = timeline([runs["sim"], *runs["real"][:2]], out)
    events = check_format(json.loads(out.read_text()))
    names = [e["args"]["name"] for e in events if e["name"] == "process_name"]
    assert "sim · server" in names and "real (real0) · server" in names and "real (real1) · learner 2" in names
    assert len(set(names)) == len(names) == 3 * 4  # server + 3 learners per run, distinct pids
    assert counts["gradients"] == sum(len(pd.read_csv(d / "gradients.csv"))
                                      for d in [runs["sim"], *runs["real"][:2]])


def test_overlapping_messages_adv_star(tmp_path):
    """adv*: a learner pulls while its push still waits; messages are async spans, so the file stays valid."""
    run = simulate(tmp_path / "advstar", "protocol.architecture=adv*", "protocol.learners=4",
                   "cluster.bandwidth=1e6", "cluster.sample_seconds=0.0001")
    out = tmp_path / "t.json"
    timeline([run], out)
    check_format(json.loads(out.read_text()))


def test_summary_trace_is_refused_in_one_line(tmp_path, capsys):
    run = simulate(tmp_path / "summary", "sim.trace=summary")
    assert main(["timeline", str(run), "--out", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'trace = "full"' in err
    assert not (tmp_path / "t.json").exists()
