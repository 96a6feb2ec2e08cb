"""analysis/phases.py: a gradient's time split into compute, exchange, push → applied and the learner's cycle,
over each learner's steady gradients."""
import pandas as pd
import pytest

from rudra.analysis.phases import CYCLE, STEADY, phases
from rudra.protocol.trace import SCHEMA


def test_phases_are_the_means_of_the_trace_intervals_after_the_first_gradients(tmp_path):
    rows = []
    for learner in range(2):
        for step in range(12):
            slow = 10.0 if step < STEADY else 1.0  # start-up gradients, left out
            start = 0.004 * step + 0.001 * learner
            rows.append({"learner": learner, "step": step, "pulled_version": 0, "applied_version": 0,
                         "staleness": 0, "scale": 1.0, "t_pull": start - 0.001, "t_compute_start": start,
                         "t_compute_end": start + 0.002 * slow, "t_push": start + 0.0025 * slow,
                         "t_applied": start + 0.0035 * slow})
    pd.DataFrame(rows, columns=list(SCHEMA["gradients.csv"])).to_csv(tmp_path / "gradients.csv", index=False)
    p = phases(tmp_path)
    assert p == pytest.approx({"compute": 0.002, "exchange": 0.0005, "push → applied": 0.001, CYCLE: 0.004})


def test_a_trace_without_gradient_rows_has_no_phases(tmp_path):
    assert phases(tmp_path) is None  # trace = "summary" writes no gradients.csv
