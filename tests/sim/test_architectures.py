"""base, adv (shards, tree) and adv* (overlapped communication): both directions of each trade-off."""
import pytest

T = 0.01


def _nic_bound(run_sim, shards, name="async", **cluster):
    return run_sim({"name": name, "learners": 16, "architecture": "adv", "shards": shards},
                   cluster={"sample_seconds": T, "server_bandwidth": 1e9, **cluster},
                   sim={"trace": "summary"}, model_bytes=1_000_000, samples=4000).summary


def test_shards_relieve_a_nic_bound_server_until_compute_bound(run_sim):
    """1 MB model, 1 GB/s server NIC: one shard moves 1000 gradients/s; S shards move S× as much,
    until the learners' compute (λ/T = 1600/s) is the limit."""
    rates = {s: _nic_bound(run_sim, s) for s in (1, 2, 4, 8)}
    assert rates[1]["gradients_per_second"] == pytest.approx(1000, rel=0.02)
    assert rates[1]["sim"]["nic_utilisation"]["in"][0] == pytest.approx(1.0, rel=0.02)
    assert rates[1]["gradients_per_second"] < rates[2]["gradients_per_second"] < rates[4]["gradients_per_second"]
    assert rates[4]["gradients_per_second"] == pytest.approx(rates[8]["gradients_per_second"], rel=0.05)
    assert rates[8]["gradients_per_second"] == pytest.approx(1600, rel=0.05)
    assert max(rates[8]["sim"]["nic_utilisation"]["in"]) < 0.3


def test_tree_relieves_a_nic_bound_hardsync_server(run_sim):
    """fan_in 4, hardsync: aggregators sum the gradients queued behind their uplink and forward one copy
    of the round's weights to all their learners, so the server NICs carry fewer messages per round."""
    flat = _nic_bound(run_sim, 1, "hardsync")
    tree = _nic_bound(run_sim, 1, "hardsync", fan_in=4)
    assert tree["gradients_per_second"] > 1.5 * flat["gradients_per_second"]
    assert tree["staleness"]["max"] == flat["staleness"]["max"] == 0


def test_tree_cannot_relieve_async_pulls(run_sim):
    """The other direction: async sends every pull a newer version, so no aggregator can reuse a copy
    and the server's outgoing NIC stays the limit, tree or not."""
    flat = _nic_bound(run_sim, 1)
    tree = _nic_bound(run_sim, 1, fan_in=4)
    assert tree["gradients_per_second"] == pytest.approx(flat["gradients_per_second"], rel=0.02)
    assert tree["sim"]["nic_utilisation"]["out"][0] == pytest.approx(1.0, rel=0.02)


def _comm_heavy(run_sim, architecture):
    return run_sim({"name": "async", "learners": 4, "architecture": architecture},
                   cluster={"sample_seconds": T, "latency": 0.001, "bandwidth": 1e7},
                   sim={"trace": "summary"}, model_bytes=100_000, samples=4000).summary


def test_adv_star_overlaps_communication_for_more_throughput_and_more_staleness(run_sim):
    """Transfers as long as a minibatch: base alternates compute and communication (T + 2(L + b/B) per step),
    adv* keeps computing while its threads push and pull: more gradients/s, and larger ⟨σ⟩. Its push thread
    then sets the pace: a gloo send is a rendezvous, so each push leaves once the previous one has arrived
    (L + b/B) and the shard's receive thread has told the learner it receives again (L): b/B + 2L per push."""
    base, star = _comm_heavy(run_sim, "base"), _comm_heavy(run_sim, "adv*")
    assert base["gradients_per_second"] == pytest.approx(4 / (T + 2 * 0.011), rel=0.01)
    assert star["gradients_per_second"] == pytest.approx(4 / (0.01 + 2 * 0.001), rel=0.02)
    assert star["staleness"]["mean"] > base["staleness"]["mean"] + 2
    assert base["staleness"]["mean"] == pytest.approx(3, rel=0.01)


def test_adv_star_is_no_gain_when_communication_is_free(run_sim):
    """The other direction: with no network cost adv* runs exactly as fast as base, yet still stales more."""
    base = run_sim({"name": "async", "learners": 4}, cluster={"sample_seconds": T}, sim={"trace": "summary"}).summary
    star = run_sim({"name": "async", "learners": 4, "architecture": "adv*"}, cluster={"sample_seconds": T},
                   sim={"trace": "summary"}).summary
    assert star["gradients_per_second"] == pytest.approx(base["gradients_per_second"], rel=0.01)
    assert star["staleness"]["mean"] > base["staleness"]["mean"]


def test_adv_star_exchanges_on_its_push_and_pull_threads_beside_its_computes(run_sim):
    """A learner's exchange X (sending its gradient, taking in the next weights) is its compute thread's under
    base, T + X a step; adv*'s push and pull threads do it while the compute thread goes on: T a step, the same
    CPU charged (on a shared node it still takes core time: tests/sim/test_cpu.py)."""
    x = 0.004
    base, star = (run_sim({"name": "async", "learners": 1, "architecture": arch},
                          cluster={"sample_seconds": T, "exchange_seconds": x}, samples=60) for arch in ("base", "adv*"))
    assert base.summary["gradients_per_second"] == pytest.approx(1 / (T + x), rel=0.01)
    assert star.summary["gradients_per_second"] == pytest.approx(1 / T, rel=0.02)
    steps = star.csv("gradients").t_compute_start.diff().dropna()
    assert steps.to_numpy() == pytest.approx(T)
    cpu = [r.summary["sim"]["cpu_seconds"]["learners"][0] / r.summary["gradients"] for r in (base, star)]
    assert cpu[1] == pytest.approx(cpu[0], rel=0.03)


def test_adv_star_learner_told_of_a_hold_stops_until_its_weights_arrive(run_sim):
    """adv* with max_staleness: a learner whose pull is held (it gets a Hold message) computes no further
    minibatch until that pull's weights arrive, so the bound lowers ⟨σ⟩ and costs gradients/s."""
    free = _comm_heavy(run_sim, "adv*")
    held = run_sim({"name": "async", "learners": 4, "architecture": "adv*", "max_staleness": 1},
                   cluster={"sample_seconds": T, "latency": 0.001, "bandwidth": 1e7},
                   sim={"trace": "summary"}, model_bytes=100_000, samples=4000).summary
    assert held["holds"] > 100
    assert held["staleness"]["mean"] < free["staleness"]["mean"] - 1
    assert held["gradients_per_second"] < 0.9 * free["gradients_per_second"]
