"""Slow learners, fixed and per-step stragglers: visible in per-learner throughput and σ."""
import pytest

T = 0.01


def test_slow_learner_pushes_less_and_its_gradients_are_staler_in_async(run_sim):
    """async, learner 0 at half speed: half the gradients of the others, about twice their ⟨σ⟩."""
    r = run_sim({"name": "async", "learners": 8}, cluster={"sample_seconds": T, "speeds": (0.5,) + (1.0,) * 7},
                sim={"trace": "summary"}, samples=8000)
    per = r.csv("learners").set_index("learner")
    assert per.gradients[0] / per.gradients[1:].mean() == pytest.approx(0.5, rel=0.02)
    assert per.mean_staleness[0] / per.mean_staleness[1:].mean() == pytest.approx(2.0, rel=0.1)
    assert r.summary["learner_gradients_per_second"]["min"] == pytest.approx(0.5 / T, rel=0.02)


def test_hardsync_update_interval_follows_the_slowest_learner(run_sim):
    """hardsync waits for every learner: one update per T / (slowest speed)."""
    r = run_sim({"name": "hardsync", "learners": 4}, cluster={"sample_seconds": T, "speeds": (1.0, 0.25, 1.0, 2.0)},
                sim={"max_updates": 10})
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([4 * T] * 9)


def test_fixed_stragglers_are_named_and_slowed(run_sim):
    """straggler_fraction 0.25 of λ = 8: two learners, listed in the summary, each at 1/slowdown of the rate."""
    r = run_sim({"name": "async", "learners": 8},
                cluster={"sample_seconds": T, "straggler_fraction": 0.25, "straggler_slowdown": 3.0},
                sim={"trace": "summary"}, samples=4000)
    slow = r.summary["sim"]["stragglers"]
    assert len(slow) == 2
    per = r.csv("learners").set_index("learner").gradients
    fast = per.drop(index=slow)
    assert (per[slow] / fast.mean()).tolist() == pytest.approx([1 / 3] * 2, rel=0.05)


def test_per_step_stragglers_stretch_the_mean_compute_time(run_sim):
    """straggler_prob p, slowdown f: mean minibatch time T·(1 + p(f − 1)), so async runs at λ/that."""
    r = run_sim({"name": "async", "learners": 8},
                cluster={"sample_seconds": T, "straggler_prob": 0.1, "straggler_slowdown": 4.0},
                sim={"trace": "summary"}, samples=40_000)
    assert r.summary["gradients_per_second"] == pytest.approx(8 / (1.3 * T), rel=0.03)
