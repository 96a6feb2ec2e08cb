"""analysis/phases.py: a gradient's time split into compute, exchange, push → applied and the learner's cycle,
over each learner's steady gradients."""
import pandas as pd
import pytest

from rudra.analysis.phases import CYCLE, STEADY, gaps, phases
from rudra.protocol.trace import SCHEMA


def write_trace(folder, *, wait: float = 0.0) -> None:
    """Two learners, 12 gradients each, a compute every 4 ms (+ `wait` after every third); the first STEADY ten
    times as slow."""
    rows = []
    for learner in range(2):
        for step in range(12):
            slow = 10.0 if step < STEADY else 1.0  # start-up gradients, left out
            start = 0.004 * step + 0.001 * learner + wait * (step // 3)
            rows.append({"learner": learner, "step": step, "pulled_version": 0, "applied_version": 0,
                         "staleness": 0, "scale": 1.0, "t_pull": start - 0.001, "t_compute_start": start,
                         "t_compute_end": start + 0.002 * slow, "t_push": start + 0.0025 * slow,
                         "t_applied": start + 0.0035 * slow})
    folder.mkdir(exist_ok=True)
    pd.DataFrame(rows, columns=list(SCHEMA["gradients.csv"])).to_csv(folder / "gradients.csv", index=False)


def test_phases_are_the_means_of_the_trace_intervals_after_the_first_gradients(tmp_path):
    write_trace(tmp_path)
    p = phases(tmp_path)
    assert p == pytest.approx({"compute": 0.002, "exchange": 0.0005, "push → applied": 0.001, CYCLE: 0.004})


def test_a_trace_without_gradient_rows_has_no_phases(tmp_path):
    assert phases(tmp_path) is None  # trace = "summary" writes no gradients.csv


def test_gaps_are_each_steady_computes_end_to_its_learners_next_start_pooled_over_runs(tmp_path):
    """Steady gaps only (from gradient STEADY on), per learner (never one learner's end to the other's start),
    pooled over the runs given; a run without a full trace adds none."""
    write_trace(tmp_path / "a")
    write_trace(tmp_path / "b", wait=0.01)
    steady = 12 - STEADY - 1  # gaps per learner: between its steady gradients
    a = gaps([tmp_path / "a"])
    assert len(a) == 2 * steady and a == pytest.approx([0.002] * len(a))
    both = gaps([tmp_path / "a", tmp_path / "b", tmp_path / "none"])
    waited = 2 * sum(1 for step in range(STEADY, 11) if (step + 1) // 3 > step // 3)  # a wait before the next
    assert len(both) == 4 * steady and sorted(both)[-waited:] == pytest.approx([0.012] * waited)
    assert len(gaps([tmp_path / "none"])) == 0
