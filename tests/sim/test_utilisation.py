"""Utilisation is busy time inside [0, end of run] over that span: work booked past the end does not count."""
import pytest

T, L, B, BYTES = 0.01, 0.001, 1e6, 2000.0


def test_a_lone_learner_counts_five_computes_and_five_weights_messages(run_sim):
    """λ = 1, 5 gradients, each message latency L + b/B = h: update k lands at L + k(2h + T), so the run ends at
    L + 5(2h + T) with 5 computes and 5 weights messages inside it. The stopping update still answers the pull
    that rode on its push (a sixth weights message and a sixth compute, both after the end): they must not
    count (the old tally booked both, 20 % too much at this length, and hid the excess under a clamp at 1)."""
    r = run_sim({"name": "async", "learners": 1}, cluster={"sample_seconds": T, "latency": L, "server_bandwidth": B},
                samples=5, model_bytes=int(BYTES))
    h = L + BYTES / B
    end = L + 5 * (2 * h + T)
    assert r.summary["seconds"] == pytest.approx(end)
    sim = r.summary["sim"]
    assert sim["learner_compute_utilisation"] == pytest.approx(5 * T / end)
    assert sim["nic_utilisation"]["out"][0] == pytest.approx(5 * BYTES / B / end)
    assert sim["nic_utilisation"]["in"][0] == pytest.approx(5 * BYTES / B / end)


def test_learners_released_together_at_the_end_count_only_their_share(run_sim):
    """async λ = 4 in lockstep, 5 gradients each: the last round's answers start 3 more computes after the end
    (and the stopping one a fourth); each learner computed 5T of the run's L + 5(T + 2L), so 5T/(5T + 11L)."""
    r = run_sim({"name": "async", "learners": 4}, cluster={"sample_seconds": T, "latency": L}, samples=20)
    assert r.summary["sim"]["learner_compute_utilisation"] == pytest.approx(5 * T / (5 * T + 11 * L))
