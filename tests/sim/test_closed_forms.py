"""Closed forms a user can check by hand: no network, constant compute time T unless stated."""
import pytest

T = 0.01


def test_hardsync_one_update_per_T_and_zero_staleness(run_sim):
    """hardsync, λ = 4: every learner computes once per round, so update k lands at k·T; σ ≡ 0."""
    r = run_sim({"name": "hardsync", "learners": 4}, cluster={"sample_seconds": T}, sim={"max_updates": 20})
    u = r.csv("updates")
    assert u.t.tolist() == pytest.approx([k * T for k in range(1, 21)])
    assert set(u.n_gradients) == {4}
    assert r.csv("gradients").staleness.eq(0).all() and r.summary["staleness"]["max"] == 0


def test_async_rate_is_lambda_over_T_and_round_robin_staleness_is_lambda_minus_one(run_sim):
    """async, λ = 8, constant T: λ/T gradients/s; after the first round every σ = λ − 1."""
    r = run_sim({"name": "async", "learners": 8}, cluster={"sample_seconds": T}, samples=800)
    assert r.summary["gradients_per_second"] == pytest.approx(8 / T)
    g = r.csv("gradients")
    assert g.staleness[8:].eq(7).all() and g.staleness[:8].tolist() == list(range(8))


@pytest.mark.parametrize("dist", ["normal", "lognormal", "exponential"])
def test_async_with_jitter_keeps_mean_staleness_at_lambda_minus_one(run_sim, dist):
    """Any jitter: ⟨σ⟩ within 5% of λ − 1 (each gradient sees the other λ − 1 learners' pushes on average)."""
    r = run_sim({"name": "async", "learners": 16}, cluster={"sample_seconds": T, "jitter_dist": dist, "jitter_cv": 0.3},
                sim={"trace": "summary"}, samples=20000)
    assert r.summary["staleness"]["mean"] == pytest.approx(15, rel=0.05)
    assert r.summary["gradients_per_second"] == pytest.approx(16 / T, rel=0.05)


def test_saturated_server_runs_at_one_update_per_U(run_sim):
    """Update cost U > T/λ: the server is the bottleneck, throughput 1/U and utilisation 1."""
    U = 3 * T / 8
    r = run_sim({"name": "async", "learners": 8}, cluster={"sample_seconds": T, "update_seconds": U},
                sim={"trace": "summary"}, samples=4000)
    assert r.summary["updates_per_second"] == pytest.approx(1 / U, rel=1e-3)
    assert r.summary["sim"]["server_utilisation"][0] == pytest.approx(1.0, rel=1e-3)


def test_update_cost_from_memory_bandwidth(run_sim):
    """update cost = update_seconds + model bytes / memory_bandwidth, serialised: λ = 1 steps take T + U."""
    r = run_sim({"learners": 1}, cluster={"sample_seconds": T, "update_seconds": T, "memory_bandwidth": 1e5},
                sim={"max_updates": 10}, model_bytes=1000)
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([T + T + 0.01] * 9)


def test_stopping_rules(run_sim):
    """Stop after the epochs of [train] (N/μ gradients each), max_updates, or max_seconds, whichever comes first."""
    epochs = run_sim({"learners": 4}, {"minibatch": 10, "epochs": 2.5}, cluster={"sample_seconds": T / 10}, samples=100)
    assert (epochs.summary["gradients"], epochs.summary["stopped_by"]) == (25, "epochs")
    assert epochs.summary["epochs"] == 2.5
    updates = run_sim({"learners": 4}, cluster={"sample_seconds": T}, sim={"max_updates": 7})
    assert (updates.summary["updates"], updates.summary["stopped_by"]) == (7, "updates")
    seconds = run_sim({"learners": 4}, cluster={"sample_seconds": T}, sim={"max_seconds": 0.1})
    assert seconds.summary["seconds"] == 0.1 and seconds.summary["stopped_by"] == "seconds"
    assert seconds.summary["gradients"] == 40 and seconds.csv("updates").t.max() <= 0.1


def test_startup_delays_every_update_by_itself(run_sim):
    """hardsync, λ = 4, a start-up of 3T (processes joining, the server's first evaluation): update k lands at
    3T + k·T, and the run takes 3T longer."""
    r = run_sim({"name": "hardsync", "learners": 4}, cluster={"sample_seconds": T, "startup_seconds": 3 * T},
                sim={"max_updates": 20})
    assert r.csv("updates").t.tolist() == pytest.approx([3 * T + k * T for k in range(1, 21)])
    assert r.summary["seconds"] == pytest.approx(23 * T)


def test_warmups_delay_the_run_once(run_sim):
    """A learner warm-up of 2T (its first gradient's extra CPU, before its first pull) and a server warm-up of T
    (its first update's extra): hardsync λ = 4 on nodes of their own, update k lands at 2T + T + k·T; the
    steady rate is untouched."""
    r = run_sim({"name": "hardsync", "learners": 4},
                cluster={"sample_seconds": T, "warmup_seconds": 2 * T, "server_warmup_seconds": T},
                sim={"max_updates": 20})
    assert r.csv("updates").t.tolist() == pytest.approx([3 * T + k * T for k in range(1, 21)])


def test_a_ramp_delays_each_learners_first_computes_by_its_stretch(run_sim):
    """A ramp of 2T before each of a learner's first 3 computes and T before its 4th and 5th (ramp_until [3, 5]):
    async λ = 2 on nodes of their own, each learner's computes start 2T, 2T, 2T, T, T after its previous one
    ended, then back to back: its updates land at 3T, 6T, 9T, 11T, 13T, 14T, each learner's on its own."""
    r = run_sim({"name": "async", "learners": 2},
                cluster={"sample_seconds": T, "ramp_until": [3, 5], "ramp_seconds": [2 * T, T]},
                sim={"max_updates": 12})
    assert r.csv("updates").t.tolist() == pytest.approx([k * T for k in (3, 3, 6, 6, 9, 9, 11, 11, 13, 13, 14, 14)])


@pytest.mark.parametrize("intercept, wait", [(1.0, 2.0), (-5.0, 0.0)])
def test_a_ramp_grows_with_mu_and_never_goes_below_nothing(run_sim, intercept, wait):
    """ramp_seconds + ramp_sample_seconds × μ: T + T/10 × 10 = 2T before each of the first two computes at
    μ = 10 (compute T), so updates land at 3T, 6T, 7T, 8T; an intercept of −5T leaves no wait at all."""
    r = run_sim({"name": "async", "learners": 1}, {"minibatch": 10},
                cluster={"sample_seconds": T / 10, "ramp_until": [2], "ramp_seconds": [intercept * T],
                         "ramp_sample_seconds": [T / 10]},
                sim={"max_updates": 4})
    assert r.csv("updates").t.tolist() == pytest.approx([(k + 1 + wait * min(k + 1, 2)) * T for k in range(4)])


@pytest.mark.parametrize("architecture", ["base", "adv*"])
def test_a_ramp_holds_no_core(run_sim, architecture):
    """Two learners on one core, each waiting 2T on the ramp before its first compute: both computes then
    share the core and end at 2T + 2T. Had the ramp been CPU, they would have shared it too (6T)."""
    r = run_sim({"name": "async", "learners": 2, "architecture": architecture},
                cluster={"sample_seconds": T, "ramp_until": [1], "ramp_seconds": [2 * T], "nodes": 1,
                         "cores_per_node": 1.0},
                sim={"max_updates": 2})
    assert r.csv("updates").t.tolist() == pytest.approx([4 * T, 4 * T])


def test_warmups_share_a_node_like_any_cpu(run_sim):
    """Four learners warming up for 2T each on one 2-core node (no server there) take 4T before their first
    pulls: processor sharing, as the CPU work it is."""
    r = run_sim({"name": "hardsync", "learners": 4},
                cluster={"sample_seconds": T, "warmup_seconds": 2 * T, "nodes": 1, "cores_per_node": 2.0},
                sim={"max_updates": 1})
    assert r.csv("updates").t.tolist() == pytest.approx([4 * T + 2 * T])
