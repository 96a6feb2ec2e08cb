"""analysis/phases.py: a gradient's time split into compute, exchange, push → applied and the learner's cycle,
over each learner's steady gradients."""
import pandas as pd
import pytest

from rudra.analysis.phases import CYCLE, GAP_QUANTILES, STEADY, gap_quantiles, phases, steady_gradients
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
    p = phases(steady_gradients(tmp_path))
    assert p == pytest.approx({"compute": 0.002, "exchange": 0.0005, "push → applied": 0.001, CYCLE: 0.004})


def test_a_trace_without_gradient_rows_has_no_phases(tmp_path):
    assert phases(steady_gradients(tmp_path)) is None  # trace = "summary" writes no gradients.csv


def test_gap_quantiles_are_of_each_steady_computes_end_to_its_learners_next_start(tmp_path):
    """Steady gaps only (from gradient STEADY on), per learner (never one learner's end to the other's start): 2
    ms each, but 12 ms before every third compute, 2 of the 6 steady gaps of each learner; none without a full
    trace."""
    write_trace(tmp_path / "even")
    assert gap_quantiles(steady_gradients(tmp_path / "even")) == pytest.approx(dict.fromkeys(GAP_QUANTILES, 0.002))
    write_trace(tmp_path / "waits", wait=0.01)
    q = gap_quantiles(steady_gradients(tmp_path / "waits"))
    assert q["p50"] == pytest.approx(0.002) and q["p99"] == pytest.approx(0.012)
    assert steady_gradients(tmp_path / "none") is None and gap_quantiles(None) is None
