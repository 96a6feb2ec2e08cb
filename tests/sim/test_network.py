"""The sharing model: FIFO serialisation per NIC direction (sim/network.py), by hand and end to end."""
import math

import pytest

from rudra.sim.network import Network, Nic, hop

L, B, BYTES = 0.003, 1e6, 2000.0


def test_one_message_alone_takes_latency_plus_bytes_over_bandwidth():
    """Alone on a link a message is delivered latency + bytes/bandwidth after it is sent."""
    a, b = Nic(B, metered=True), Nic(None)
    assert hop(1.0, BYTES, a, b, L) == (1.0, 1.0 + BYTES / B + L)
    assert a.busy == BYTES / B and b.busy == 0.0


def test_only_metered_nics_keep_busy_time():
    """Learner NICs (unmetered) keep their FIFO clock but no busy time; shard NICs keep both."""
    learner, shard = Nic(B), Nic(B, metered=True)
    hop(0.0, BYTES, learner, shard, L)
    assert learner.free == shard.free == BYTES / B
    assert (learner.busy, shard.busy) == (0.0, BYTES / B)


def test_slower_end_sets_the_rate():
    """The transfer runs at the slower of the two NICs."""
    assert hop(0.0, BYTES, Nic(B), Nic(B / 4), 0.0)[1] == 4 * BYTES / B


def test_concurrent_transfers_through_one_nic_are_served_first_in_first_out():
    """k messages handed at once to one NIC arrive at latency + i·bytes/rate, i = 1..k, in hand-over order."""
    server = Nic(B, metered=True)
    deliveries = [hop(0.0, BYTES, Nic(None), server, L)[1] for _ in range(3)]
    assert deliveries == [pytest.approx(L + i * BYTES / B, rel=1e-12) for i in (1, 2, 3)]
    assert server.busy == pytest.approx(3 * BYTES / B)


def test_infinite_nics_are_never_busy():
    """Left-out bandwidth: delivery after latency only, and no NIC state changes."""
    a, b = Nic(None), Nic(None)
    assert hop(2.0, BYTES, a, b, L) == (2.0, 2.0 + L)
    assert (a.free, b.free, a.busy, b.busy) == (0.0, 0.0, 0.0, 0.0)


def test_first_broadcast_end_to_end(run_sim):
    """Two learners pull at t=0 through one server NIC: weights reach them at 2L + b/B and 2L + 2b/B."""
    r = run_sim({"name": "hardsync", "learners": 2}, cluster={"latency": L, "server_bandwidth": B, "sample_seconds": 1.0},
                sim={"max_updates": 1}, model_bytes=int(BYTES))
    g = r.csv("gradients").sort_values("learner")
    assert g.t_compute_start.tolist() == [pytest.approx(2 * L + BYTES / B), pytest.approx(2 * L + 2 * BYTES / B)]


def test_step_time_of_a_lone_learner(run_sim):
    """λ = 1, base: between two computes lie one push and one weights message: 2·(L + b/B)."""
    T = 0.01
    r = run_sim({"learners": 1}, cluster={"latency": L, "bandwidth": B, "sample_seconds": T}, sim={"max_updates": 5},
                model_bytes=int(BYTES))
    g = r.csv("gradients")
    assert g.t_compute_start[0] == pytest.approx(L + L + BYTES / B)  # request, then weights
    gaps = g.t_compute_start.to_numpy()[1:] - g.t_compute_end.to_numpy()[:-1]
    assert gaps == pytest.approx([2 * (L + BYTES / B)] * 4)
    assert (g.t_compute_end - g.t_compute_start).tolist() == pytest.approx([T] * 5)


def test_tree_sums_gradients_that_arrive_while_the_uplink_is_busy():
    """fan_in 2, λ = 4: a gradient reaching an aggregator before its queued message starts joins that message."""
    net = Network(4, 1, BYTES, 0.0, None, B, fan_in=2)
    first = net.tree_push(0, 0, 0.0, "g0")
    second = net.tree_push(1, 0, 0.0, "g1")                # agg 0's uplink busy until b/B: queued behind g0
    assert first == (BYTES / B, ["g0"]) and second[0] == pytest.approx(2 * BYTES / B)
    assert net.tree_push(0, 0, 0.5 * BYTES / B, "g2") is None  # arrives before the queued message starts
    assert second[1] == ["g1", "g2"]
    assert net.shard_in[0].busy == pytest.approx(2 * BYTES / B)


def test_tree_forwards_a_cached_version_instead_of_fetching_it_again():
    """Two learners under one aggregator pulling the same version cost the server NIC one transfer."""
    net = Network(4, 1, BYTES, 0.0, None, B, fan_in=2)
    assert net.tree_weights(0, 0, 7, 0.0) == net.tree_weights(0, 1, 7, 0.0) == BYTES / B
    assert net.shard_out[0].busy == pytest.approx(BYTES / B)
    net.tree_weights(0, 2, 7, 0.0)                          # other aggregator: one more transfer
    assert net.shard_out[0].busy == pytest.approx(2 * BYTES / B)
    assert math.isinf(net.up[0].rate)


def test_a_fast_server_nic_carries_many_slower_links_at_once(run_sim):
    """Each NIC runs at its own rate: 64 learners on 1× links, a 100× server NIC, async, no latency.

    All learners pull at 0, compute T and push together; the server NIC handles 64 messages in 0.64 b/r, less
    than one link's b/r, so every message is delivered b/r after it leaves and each round of 64 gradients takes
    T + 2b/r exactly (the old model, holding the server NIC b/r per message, gave at most r/b gradients/s).
    """
    lam, r, T = 64, 1e6, 0.002
    b = r * 0.001  # b/r = 1 ms
    cycle = T + 2 * b / r
    res = run_sim({"name": "async", "learners": lam}, cluster={"sample_seconds": T, "bandwidth": r,
                                                              "server_bandwidth": 100 * r},
                  sim={"trace": "full"}, samples=lam * 20, model_bytes=int(b))
    t = res.csv("updates").t.to_numpy()
    rounds = t[lam - 1::lam]                # the last update of each round
    assert rounds[1:] - rounds[:-1] == pytest.approx([cycle] * (len(rounds) - 1), rel=1e-9)
    assert rounds[0] == pytest.approx(b / r + T + b / r)


def test_the_server_nic_bounds_the_aggregate_at_its_own_rate(run_sim):
    """Same cluster, server NIC only 8× a link: min(server rate, Σ link rates) = 8r, so in steady state the
    server's NICs carry r·8/b messages per second each way (within 1%)."""
    lam, r, T = 64, 1e6, 0.002
    b = r * 0.001
    res = run_sim({"name": "async", "learners": lam}, cluster={"sample_seconds": T, "bandwidth": r,
                                                              "server_bandwidth": 8 * r},
                  sim={"trace": "full"}, samples=lam * 40, model_bytes=int(b))
    t = res.csv("updates").t.to_numpy()
    half = len(t) // 2
    assert (half - 1) / (t[-1] - t[half]) == pytest.approx(8 * r / b, rel=0.01)
    assert res.summary["sim"]["nic_utilisation"]["in"][0] == pytest.approx(1.0, rel=0.05)
