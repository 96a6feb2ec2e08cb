"""The one run summary, computed from a run directory: same keys and units whatever wrote it.

Fixture runs are written here with the trace writer and the run.json helpers
both drivers use: softsync λ = 4, n = 2 (c = 2), 40 gradients over 20
updates, one update per second, so every expected figure is plain arithmetic.
"""
import json

import pytest

from rudra.analysis import CORE, TraceError, summarize
from rudra.protocol import TrainSpec, write_run_json
from rudra.protocol.trace import TraceWriter, run_inputs, run_outcome
from tests.protocol.harness import Cluster

TRAIN = TrainSpec(minibatch=8, epochs=2.0)
N = 160  # N/μ = 20 gradients per epoch: the 40 gradients are the 2-epoch target


def write_run(path, detail="full", metrics=True, extras=None, **outcome):
    """A finished 20-second run of 40 gradients (λ = 4, c = 2); `outcome` overrides the end-of-run facts."""
    c = Cluster(name="softsync", learners=4, n=2)
    c.round_robin(40)
    with TraceWriter(path, detail=detail) as w:
        for k, u in enumerate(c.updates, start=1):
            w.update(u, t=float(k), times=[(0.1, 0.2, 0.3, 0.4)] * len(u.gradients))
        if metrics:
            w.metrics(0.0, 0.0, float("nan"), 0.9)
            w.metrics(2.0, 20.0, 0.5, 0.25)
    facts = dict(status="finished", stopped_by="epochs", seconds=20.0, target_seconds=20.0, gradients=40,
                 updates=len(c.updates), holds=3, lost_learners=0) | outcome
    write_run_json(path, {"kind": "test", "inputs": run_inputs(TRAIN, learners=4, train_samples=N, parameters=10,
                                                               model_bytes=40),
                          **run_outcome(**facts), **(extras or {})})
    return c


def test_summary_of_a_run_directory_in_units_of_seconds(tmp_path):
    c = write_run(tmp_path, extras={"sim": {"speedup": 3.5}})
    s = summarize(tmp_path)
    assert set(s) == set(CORE) | {"sim"} and s["sim"] == {"speedup": 3.5}
    assert (s["status"], s["stopped_by"], s["gradients"], s["updates"]) == ("finished", "epochs", 40, 20)
    assert (s["seconds"], s["epochs"], s["seconds_per_epoch"], s["time_to_target"]) == (20.0, 2.0, 10.0, 20.0)
    assert (s["gradients_per_second"], s["updates_per_second"], s["samples_per_second"]) == (2.0, 1.0, 16.0)
    sigmas = [a.staleness for u in c.updates for a in u.gradients]
    assert s["staleness"]["count"] == 40 and s["staleness"]["mean"] == pytest.approx(sum(sigmas) / 40)
    assert s["staleness"]["max"] == max(sigmas) and s["staleness_bin_width"] == 1
    assert s["staleness_histogram"] == [[k, sigmas.count(k)] for k in sorted(set(sigmas))]
    assert s["learner_gradients"] == [10, 10, 10, 10]
    assert s["learner_gradients_per_second"] == {"min": 0.5, "mean": 0.5, "max": 0.5}
    assert (s["holds"], s["lost_learners"], s["test_error"], s["train_loss"]) == (3, 0, 0.25, 0.5)
    assert json.loads(json.dumps(s)) == s  # stored in run.json as is


def test_rates_and_time_per_epoch_are_over_the_training_not_the_closing_work(tmp_path):
    """A real run evaluates its final weights and shuts down after the update that reached its target: the
    2 s after it count in the run's seconds, not in its time per epoch or its rates. A run stopped otherwise
    trains to its end."""
    write_run(tmp_path / "real", seconds=22.0, target_seconds=20.0)
    s = summarize(tmp_path / "real")
    assert (s["seconds"], s["training_seconds"], s["seconds_per_epoch"]) == (22.0, 20.0, 10.0)
    assert (s["gradients_per_second"], s["updates_per_second"]) == (2.0, 1.0)
    assert s["learner_gradients_per_second"]["mean"] == 0.5
    write_run(tmp_path / "cut", seconds=22.0, stopped_by="seconds", target_seconds=None)
    cut = summarize(tmp_path / "cut")
    assert (cut["training_seconds"], cut["seconds_per_epoch"]) == (22.0, 11.0)


def test_summary_trace_gives_the_same_summary_as_a_full_one(tmp_path):
    """No gradients.csv and an empty updates.csv: everything comes from run.json and the histograms."""
    write_run(tmp_path / "full")
    write_run(tmp_path / "small", detail="summary")
    assert not (tmp_path / "small" / "gradients.csv").exists()
    assert summarize(tmp_path / "small") == summarize(tmp_path / "full")


def test_missing_figures_are_null_not_zero(tmp_path):
    """No evaluation (a simulated run): test_error and train_loss are null; a target not reached is null;
    a learner without a gradient counts 0 and sets the minimum."""
    write_run(tmp_path, metrics=False, stopped_by="updates", target_seconds=None,
              extras={"runtime": {"device": "cpu"}})
    lines = (tmp_path / "learners.csv").read_text().splitlines()
    (tmp_path / "learners.csv").write_text("\n".join(lines[:-1]) + "\n")  # learner 3 applied nothing
    s = summarize(tmp_path)
    assert s["test_error"] is None and s["train_loss"] is None and s["time_to_target"] is None
    assert s["learner_gradients"] == [10, 10, 10, 0] and s["learner_gradients_per_second"]["min"] == 0.0
    assert s["runtime"] == {"device": "cpu"} and "sim" not in s


def test_a_run_without_time_or_gradients_divides_by_nothing(tmp_path):
    write_run(tmp_path, seconds=0.0, gradients=0, updates=0)
    s = summarize(tmp_path)
    assert s["gradients_per_second"] == 0.0 and s["seconds_per_epoch"] is None


def test_a_foreign_or_old_directory_is_one_line(tmp_path):
    with pytest.raises(TraceError, match="no run.json"):
        summarize(tmp_path)
    write_run(tmp_path)
    write_run_json(tmp_path, {"kind": "sim", "summary": {}})
    with pytest.raises(TraceError, match="older rudra") as e:
        summarize(tmp_path)
    assert "\n" not in str(e.value)
