"""Compute time follows μ: compute_overhead + sample_seconds × μ, or one measured minibatch_seconds at its own μ."""
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
