"""Processes on one node share its cores (sim/cores.py): closed forms with constant compute time T, no network."""
import pytest

T, U = 0.01, 0.004


def steady_gaps(r, every: int) -> list[float]:
    """Time between the last updates of consecutive rounds of `every` updates, after the first round."""
    t = r.csv("updates").t.to_numpy()[every - 1::every]
    return (t[2:] - t[1:-1]).tolist()


@pytest.mark.parametrize("lam, cores", [(4, 2), (3, 2), (8, 2), (2, 2)])
def test_learners_on_one_node_share_its_cores(run_sim, lam, cores):
    """async, λ learners in lockstep on one node of c cores: each compute takes T·max(1, λ/c), so a round of λ
    gradients takes that long (one node per learner: T)."""
    r = run_sim({"name": "async", "learners": lam}, cluster={"sample_seconds": T, "nodes": 1, "cores_per_node": cores},
                samples=lam * 10)
    gaps = steady_gaps(r, lam)
    assert len(gaps) == 8 and gaps == pytest.approx([T * max(1.0, lam / cores)] * 8)
    alone = run_sim({"name": "async", "learners": lam}, cluster={"sample_seconds": T, "cores_per_node": cores},
                    samples=lam * 10)
    assert steady_gaps(alone, lam) == pytest.approx([T] * 8)


def test_a_measured_slowdown_replaces_processor_sharing(run_sim):
    """hardsync λ = 4 on one node with slowdown [1, 1.1, 1.6, 2.2]: a round takes 2.2 T; beyond the list the
    last factor scales with k (λ = 8: 2.2 · 8/4 = 4.4 T)."""
    table = {"sample_seconds": T, "nodes": 1, "slowdown": [1.0, 1.1, 1.6, 2.2]}
    four = run_sim({"name": "hardsync", "learners": 4}, cluster=table, sim={"max_updates": 6})
    assert four.csv("updates").t.diff().dropna().tolist() == pytest.approx([2.2 * T] * 5)
    eight = run_sim({"name": "hardsync", "learners": 8}, cluster=table, sim={"max_updates": 6})
    assert eight.csv("updates").t.diff().dropna().tolist() == pytest.approx([4.4 * T] * 5)


@pytest.mark.parametrize("lam, factor", [(1, 1.0), (2, 1.2), (4, 1.5), (6, 1.5)])
def test_a_compute_costs_the_inflation_of_its_nodes_process_count(run_sim, lam, factor):
    """hardsync, λ learners and their server on one node of as many cores, compute_inflation [1, 1.2, 1.5] for
    n = 2, 3, 4 processes: a round takes T times the entry for λ + 1 processes; beyond the list, its last."""
    cluster = {"sample_seconds": T, "nodes": 1, "server_node": "shared", "cores_per_node": lam + 1,
               "compute_inflation": [1.0, 1.2, 1.5]}
    r = run_sim({"name": "hardsync", "learners": lam}, cluster=cluster, sim={"max_updates": 6})
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([factor * T] * 5)


@pytest.mark.parametrize("lam, factor", [(1, 1.0), (2, 1.6), (4, 2.25)])
def test_with_sample_inflation_each_part_of_the_law_inflates_by_its_own(run_sim, lam, factor):
    """As above at μ = 10 with a law of T/2 + T/20 × μ (T): compute_inflation [1, 1.2, 1.5] on the overhead and
    sample_inflation [1, 2, 3] on the per-sample part, so a round takes (1.2 + 2) / 2 T at n = 3 and, beyond
    the lists, (1.5 + 3) / 2 T."""
    cluster = {"compute_overhead": T / 2, "sample_seconds": T / 20, "nodes": 1, "server_node": "shared",
               "cores_per_node": lam + 1, "compute_inflation": [1.0, 1.2, 1.5], "sample_inflation": [1.0, 2.0, 3.0]}
    r = run_sim({"name": "hardsync", "learners": lam}, {"minibatch": 10}, cluster=cluster, sim={"max_updates": 6})
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([factor * T] * 5)


@pytest.mark.parametrize("lam, compute, exchange", [(1, 1.0, 1.0), (2, 1.2, 2.0), (4, 1.5, 3.0)])
def test_an_exchange_costs_the_exchange_inflation_of_its_nodes_process_count(run_sim, lam, compute, exchange):
    """As above with an exchange X per gradient and exchange_inflation [1, 2, 3]: a round takes the compute's
    inflation × T plus the exchange's × X; left out, the exchange takes the compute's."""
    X = T / 4
    cluster = {"sample_seconds": T, "exchange_seconds": X, "nodes": 1, "server_node": "shared",
               "cores_per_node": lam + 1, "compute_inflation": [1.0, 1.2, 1.5]}
    r = run_sim({"name": "hardsync", "learners": lam}, cluster={**cluster, "exchange_inflation": [1.0, 2.0, 3.0]},
                sim={"max_updates": 6})
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([compute * T + exchange * X] * 5)
    r = run_sim({"name": "hardsync", "learners": lam}, cluster=cluster, sim={"max_updates": 6})
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([compute * (T + X)] * 5)


def test_server_work_competes_with_compute_for_a_shared_core(run_sim):
    """adv*, λ = 1 and its server on one single-core node: the learner computes while the server applies the
    last gradient (U), so the core does T + U of work per gradient: one update per T + U. The server on a node
    of its own overlaps fully: one per T."""
    shared = {"sample_seconds": T, "update_seconds": U, "nodes": 1, "server_node": "shared", "cores_per_node": 1}
    r = run_sim({"name": "async", "learners": 1, "architecture": "adv*"}, cluster=shared, sim={"max_updates": 12})
    assert r.csv("updates").t.diff().dropna().tolist()[3:] == pytest.approx([T + U] * 8)
    own = run_sim({"name": "async", "learners": 1, "architecture": "adv*"},
                  cluster={**shared, "server_node": "own"}, sim={"max_updates": 12})
    assert own.csv("updates").t.diff().dropna().tolist()[3:] == pytest.approx([T] * 8)


def test_server_costs_per_message(run_sim):
    """λ = 1 base, no network: each step is compute, then the server's receive thread takes the push in (recv),
    its message loop applies it (U) and sends the weights (send): updates one T + recv + U + send apart. The loop
    is busy U + send a step (the first pull costs it send, and the weights sent after the stopping update fall
    outside the run) over a run of 10 steps and the first pull's recv; the server's CPU holds every recv too."""
    recv, send = 0.001, 0.002
    r = run_sim({"learners": 1}, cluster={"sample_seconds": T, "update_seconds": U, "recv_seconds": recv,
                                         "send_seconds": send}, sim={"max_updates": 10})
    step = T + recv + U + send
    assert r.csv("updates").t.diff().dropna().tolist() == pytest.approx([step] * 9)
    assert r.summary["sim"]["server_utilisation"][0] == pytest.approx(10 * (U + send) / (10 * step + recv))
    assert r.summary["sim"]["push_path"]["served"] == pytest.approx(U)  # received: recv, less what ends the step
    assert r.summary["sim"]["cpu_seconds"]["server"][0] == pytest.approx(11 * recv + 10 * (U + send) + send)


def test_a_saturated_server_runs_at_one_gradient_per_loop_cycle(run_sim):
    """async λ = 8 with a server slower than its learners: its message loop's U + send per gradient bounds the
    rate; the receive threads, one per learner, take the pushes in (recv) beside it."""
    recv, send = 0.001, 0.002
    r = run_sim({"name": "async", "learners": 8}, cluster={"sample_seconds": T, "update_seconds": U,
                                                          "recv_seconds": recv, "send_seconds": send},
                sim={"trace": "summary"}, samples=4000)
    assert r.summary["sim"]["server_utilisation"][0] == pytest.approx(1.0, rel=2e-3)
    assert r.summary["gradients_per_second"] == pytest.approx(1 / (U + send), rel=2e-3)
