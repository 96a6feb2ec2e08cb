"""Speedup is over one learner of the cluster's mean speed, on the same cluster."""
import pytest


@pytest.mark.parametrize("speeds, expected", [((2.0, 2.0), 2.0), ((1.0, 3.0), 2.0)])
def test_speedup_of_uniform_learners_is_their_count(run_sim, speeds, expected):
    """async, no network, λ = 2: the cluster applies Σ speed/T gradients/s, one learner of the mean speed
    mean/T, so the speedup is λ whatever the speeds (the old baseline, a learner of speed 1, read 4 for [2, 2])."""
    r = run_sim({"name": "async", "learners": 2}, cluster={"sample_seconds": 0.01, "speeds": speeds},
                sim={"speedup": True, "trace": "summary"}, samples=4000)
    assert r.summary["sim"]["speedup"] == pytest.approx(expected, rel=1e-3)


def test_stragglers_count_in_the_mean_speed(run_sim):
    """4 learners, one always 4× slower: mean speed (3 + 1/4)/4; the cluster's rate is 3.25/T: speedup 4."""
    r = run_sim({"name": "async", "learners": 4}, cluster={"sample_seconds": 0.01, "straggler_fraction": 0.25},
                sim={"speedup": True, "trace": "summary"}, samples=8000)
    assert r.summary["sim"]["speedup"] == pytest.approx(4.0, rel=2e-3)
