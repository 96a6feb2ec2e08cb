"""The CPU the model charges (run.json sim.cpu_seconds, in a real run's runtime.cpu_seconds shape): closed forms
with constant costs. What sharing a node stretches is waiting, not CPU, so it must not show here."""
import pytest

T, X, O, W = 0.01, 0.003, 0.001, 0.02          # compute, exchange, off-path work, warm-up (learner seconds)
R, P, S, U = 0.0004, 0.0002, 0.0003, 0.0005    # server: per message received, per gradient, per weights sent, update
Q = 0.0002                                     # server: off-path work per gradient


def cpu(r) -> dict:
    return r.summary["sim"]["cpu_seconds"]


@pytest.mark.parametrize("architecture", ["base", "adv*"])
def test_a_learner_on_a_node_of_its_own_is_charged_its_computes_exchanges_and_warm_up(run_sim, architecture):
    """λ = 1 alone, 50 gradients: the learner is charged its computes, T each, an exchange X with each, and its
    warm-up W once; off-path work only exists on a shared node, so none here. A compute is charged as it starts,
    so the one the last weights start may count too (one in 50 here; λ in a run's thousands); under adv* the
    exchange is its push and pull threads', charged as each gradient is handed to them, so one per push."""
    r = run_sim({"name": "async", "learners": 1, "architecture": architecture},
                cluster={"sample_seconds": T, "exchange_seconds": X, "offpath_seconds": O, "warmup_seconds": W},
                samples=50)
    assert r.summary["gradients"] == 50
    (computing,), (charged,) = cpu(r)["learners_compute"], cpu(r)["learners"]
    computes = round(computing / T)
    assert computes in (50, 51) and computing == pytest.approx(computes * T)
    exchanges = round((charged - computing - W) / X)
    assert exchanges == computes if architecture == "base" else exchanges in (50, 51)
    assert charged == pytest.approx(computing + exchanges * X + W)


@pytest.mark.parametrize("shards", [1, 2])
def test_the_server_is_charged_each_message_and_update_once(run_sim, shards):
    """λ = 1, 20 gradients, each shard: the first pull request (R) and its weights (S), then per gradient the
    push with its pull riding along (R + P), the update (U) and the weights (S)."""
    r = run_sim({"name": "async", "learners": 1, "architecture": "adv" if shards > 1 else "base", "shards": shards},
                cluster={"sample_seconds": T, "recv_seconds": R, "push_seconds": P, "send_seconds": S,
                         "update_seconds": U}, samples=20)
    assert cpu(r)["server"] == pytest.approx([R + S + 20 * (R + P + U + S)] * shards)


def test_sharing_a_node_stretches_time_but_charges_only_the_inflated_work(run_sim):
    """λ = 2 and their server on one single-core node: every compute and the server's work run slower than
    alone, but the CPU charged is the work itself: T × compute_inflation and X × exchange_inflation per gradient
    (+ O off the path), the warm-up W × compute_inflation once, and the server's costs unstretched (+ its Q off
    the path)."""
    costs = {"recv_seconds": R, "push_seconds": P, "send_seconds": S, "update_seconds": U}
    alone = run_sim({"name": "async", "learners": 2}, cluster={"sample_seconds": T, **costs}, samples=40)
    shared = run_sim({"name": "async", "learners": 2},
                     cluster={"sample_seconds": T, "exchange_seconds": X, "offpath_seconds": O, **costs,
                              "server_offpath_seconds": Q,
                              "warmup_seconds": W, "nodes": 1, "server_node": "shared", "cores_per_node": 1.0,
                              "compute_inflation": [1.0, 1.5], "exchange_inflation": [1.0, 2.0]}, samples=40)
    assert shared.summary["seconds"] > 2 * alone.summary["seconds"]  # one core for three processes
    n = [shared.csv("gradients").groupby("learner").size()[l] for l in (0, 1)]
    started = cpu(shared)["learners_compute"]  # computes are charged as they start: one may run past the end
    assert all(k * 1.5 * T <= c <= (k + 1) * 1.5 * T + 1e-12 for k, c in zip(n, started))
    assert [c - s for c, s in zip(cpu(shared)["learners"], started)] == pytest.approx(
        [(c / (1.5 * T)) * 2 * X + k * O + 1.5 * W for c, k in zip(started, n)])
    per_gradient = [server / g for server, g in ((cpu(run)["server"][0], run.summary["gradients"])
                                                  for run in (alone, shared))]
    assert per_gradient[1] == pytest.approx(per_gradient[0] + Q, rel=0.01)


def test_each_shard_on_a_shared_node_is_charged_its_off_path_work(run_sim):
    """adv, 2 shards and λ = 1 on one node, 20 gradients: each shard's receive threads take in every push, so
    each shard is charged Q per gradient on top of its messages and updates, and the learner O."""
    r = run_sim({"name": "async", "learners": 1, "architecture": "adv", "shards": 2},
                cluster={"sample_seconds": T, "recv_seconds": R, "push_seconds": P, "send_seconds": S,
                         "update_seconds": U, "offpath_seconds": O, "server_offpath_seconds": Q, "nodes": 1,
                         "server_node": "shared", "cores_per_node": 2.0}, samples=20)
    assert cpu(r)["server"] == pytest.approx([R + S + 20 * (R + P + U + S + Q)] * 2)
    (computing,), (charged,) = cpu(r)["learners_compute"], cpu(r)["learners"]
    assert charged - computing == pytest.approx(20 * O)
