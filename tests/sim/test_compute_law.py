"""Compute time follows μ: compute_overhead + sample_seconds × μ, or one measured minibatch_seconds at its own μ;
and a compute after a long idle costs the cold law's seconds more."""
import numpy as np
import pytest

from rudra.protocol import TrainSpec
from rudra.sim import ClusterSpec, SimError

T0, PER = 0.002, 0.0005


@pytest.mark.parametrize("mu", [1, 8, 128])
def test_minibatch_time_is_the_law_at_mu(run_sim, mu):
    """λ = 1, no network: consecutive updates are one compute apart, T0 + PER·μ."""
    r = run_sim({"learners": 1}, {"minibatch": mu}, cluster={"compute_overhead": T0, "sample_seconds": PER},
                sim={"max_updates": 4})
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([T0 + PER * mu] * 3)


def test_a_measured_minibatch_time_is_refused_at_another_mu(run_sim):
    """minibatch_seconds says nothing about other μ: simulate refuses it in one line instead of reusing it."""
    cluster = {"minibatch_seconds": 0.005, "minibatch_seconds_at": 4}
    assert run_sim({"learners": 1}, {"minibatch": 4}, cluster=cluster, sim={"max_updates": 2}).summary
    with pytest.raises(SimError) as e:
        run_sim({"learners": 1}, {"minibatch": 128}, cluster=cluster, sim={"max_updates": 2})
    assert str(e.value).startswith("cluster.minibatch_seconds = 0.005: allowed only at train.minibatch = 4")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("cluster, field", [
    ({"minibatch_seconds": 0.005}, "minibatch_seconds_at"),
    ({"minibatch_seconds_at": 4}, "minibatch_seconds_at"),
    ({"minibatch_seconds": 0.005, "minibatch_seconds_at": 4, "sample_seconds": 0.001}, "sample_seconds"),
])
def test_one_compute_time_at_a_time(cluster, field):
    """A measured time needs its μ, and never mixes with the law."""
    assert ClusterSpec(**cluster).invalid()[0] == field


def test_the_refusal_names_both_minibatches():
    bad = ClusterSpec(minibatch_seconds=0.005, minibatch_seconds_at=4).invalid_with_train(TrainSpec(minibatch=128))
    assert bad[0] == "minibatch_seconds" and "train.minibatch = 4" in bad[2] and "128" in bad[2]


COLD = {"cold_idle": [0.001, 0.003, 0.005], "cold_seconds": [0.0, 0.002, 0.003]}


def test_the_cold_law_is_linear_between_its_points_and_flat_beyond():
    cold = ClusterSpec(**COLD).cold_time()
    assert [cold(t) for t in (-1.0, 0.0005, 0.001, 0.002, 0.004, 0.005, 1.0)] == pytest.approx(
        [0.0, 0.0, 0.0, 0.001, 0.0025, 0.003, 0.003])
    assert ClusterSpec().cold_time() is None


def test_the_cold_law_charges_only_what_an_idle_costs_beyond_the_one_already_paid():
    """A node whose inflation was measured with computes 2 ms apart holds cold(2 ms) = 1 ms in its factor: a
    compute there pays the law less that, from 2 ms idle on; an idle paid before the law's first point is none."""
    cold = ClusterSpec(**COLD).cold_time(0.002)
    assert [cold(t) for t in (0.0005, 0.002, 0.003, 0.004, 0.005, 1.0)] == pytest.approx(
        [0.0, 0.0, 0.001, 0.0015, 0.002, 0.002])
    law = ClusterSpec(**COLD).cold_time()
    assert [ClusterSpec(**COLD).cold_time(0.0008)(t) for t in (0.002, 1.0)] == [law(0.002), law(1.0)]
    # a law given by hand may fall after its peak: what is left is never a negative cost
    falling = ClusterSpec(cold_idle=[0.001, 0.003, 0.005], cold_seconds=[0.0, 0.002, 0.001]).cold_time(0.003)
    assert [falling(t) for t in (0.004, 1.0)] == [0.0, 0.0]


@pytest.mark.parametrize("protocol, cluster", [
    ({"learners": 1}, {}),  # alone on its node: the cluster's fast path
    ({"learners": 2}, {"nodes": 1, "server_node": "shared", "cores_per_node": 3}),  # a node it shares
    # adv*: its compute thread, idle while the push thread still sends the previous gradient (2.5 ms a shard)
    ({"learners": 2, "architecture": "adv*", "shards": 2}, {"bandwidth": 2e5}),
    ({"learners": 2, "architecture": "adv*", "shards": 2}, {"bandwidth": 2e5, "nodes": 1, "server_node": "shared",
                                                            "cores_per_node": 4}),
    # a node of 3 processes whose inflation holds the cold cost of 1.5 ms idle (inflation_idle[1]); alone on its
    # node, a learner pays the whole law whatever the list says
    ({"learners": 2}, {"nodes": 1, "server_node": "shared", "cores_per_node": 3, "inflation_idle": [0.0, 0.0015]}),
    ({"learners": 1}, {"inflation_idle": [0.004]}),
])
def test_a_compute_costs_the_cold_law_of_its_learners_idle_before_it(run_sim, protocol, cluster):
    """async, 1 ms per message (a learner idles about 2 ms between computes): every compute but a learner's first
    takes T plus cold(the time since that learner's previous compute ended), less what its node's inflation holds
    of it; the first, after no compute, T."""
    r = run_sim({"name": "async", **protocol}, cluster={"minibatch_seconds": T0, "minibatch_seconds_at": 1,
                                                        "latency": 0.001, **COLD, **cluster}, sim={"max_updates": 30})
    g = r.csv("gradients").sort_values(["learner", "t_compute_start"])
    idle = (g.t_compute_start - g.groupby("learner").t_compute_end.shift()).to_numpy()
    took = (g.t_compute_end - g.t_compute_start).to_numpy()
    shared = cluster.get("server_node") == "shared"
    cold = ClusterSpec(**COLD).cold_time(cluster["inflation_idle"][-1] if shared and "inflation_idle" in cluster
                                         else 0.0)
    first = np.isnan(idle)
    assert first.sum() == protocol["learners"] and took[first] == pytest.approx(T0)
    assert took[~first] == pytest.approx([T0 + cold(i) for i in idle[~first]])
    assert max(cold(i) for i in idle[~first]) > 0.0003  # some computes were cold, beyond what was paid
