"""A run directory written by protocol.TraceWriter reads back into pandas with the documented dtypes."""
import pytest

from rudra.analysis import TraceError, read_trace
from rudra.protocol import SCHEMA, write_run_json
from rudra.protocol.trace import TraceWriter, staleness_summary
from tests.protocol.harness import Cluster


def write_run(path, detail="full", gradients=40):
    c = Cluster(name="softsync", learners=4, n=2)
    c.round_robin(gradients)
    with TraceWriter(path, detail=detail) as w:
        for k, u in enumerate(c.updates):
            w.update(u, t=float(k), times=[(0.1, 0.2, 0.3, 0.4)] * len(u.gradients))
        w.metrics(1.0, 9.5, 0.7, 0.25)
    write_run_json(path, {"kind": "test", "summary": staleness_summary(w.histogram)})
    return c


def test_full_trace_reads_back_with_schema_dtypes(tmp_path):
    c = write_run(tmp_path)
    t = read_trace(tmp_path)
    for name, frame in [("gradients.csv", t.gradients), ("updates.csv", t.updates), ("metrics.csv", t.metrics),
                        ("staleness.csv", t.staleness), ("learners.csv", t.learners)]:
        assert {k: str(v) for k, v in frame.dtypes.items()} == SCHEMA[name]
    assert len(t.gradients) == sum(len(u.gradients) for u in c.updates)
    assert (t.gradients.applied_version + 1).isin(t.updates.version).all()
    assert t.staleness["count"].sum() == len(t.gradients)
    assert t.learners.gradients.sum() == len(t.gradients)
    assert t.run["summary"]["mean"] == pytest.approx(t.gradients.staleness.mean())
    assert t.metrics.test_error.tolist() == [0.25]


def test_summary_trace_has_histograms_but_no_gradient_rows(tmp_path):
    write_run(tmp_path, detail="summary")
    t = read_trace(tmp_path)
    assert t.gradients is None and t.updates.empty
    assert t.staleness["count"].sum() == 40


def test_resumed_writer_appends_and_continues_histograms(tmp_path):
    write_run(tmp_path, gradients=40)
    c = Cluster(name="async", learners=2)
    c.round_robin(10)
    with TraceWriter(tmp_path, append=True) as w:
        for u in c.updates:
            w.update(u, t=100.0, times=[(0, 0, 0, 0)])
    t = read_trace(tmp_path)
    assert len(t.gradients) == 50 and t.staleness["count"].sum() == 50
    assert t.learners.gradients.sum() == 50


def test_missing_or_foreign_directories_give_one_line(tmp_path):
    with pytest.raises(TraceError, match="no run.json"):
        read_trace(tmp_path)
    write_run(tmp_path)
    (tmp_path / "updates.csv").write_text("a,b\n1,2\n")
    with pytest.raises(TraceError, match="expected columns version,n_gradients,lr,t") as e:
        read_trace(tmp_path)
    assert "\n" not in str(e.value)
