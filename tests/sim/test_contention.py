"""Learner CPU besides the compute (exchange_seconds, offpath_seconds), waiting for a core (wakeup) and adv*'s
receive window (inbox_slots): closed forms with constant compute time T and no network unless said."""
import numpy as np
import pytest
import simpy

from rudra.protocol import inbox_slots
from rudra.sim.cores import Node

T, X, O = 0.01, 0.003, 0.004
SOON = 1e-12  # a message arriving just after the computes started at 0 (one starting with it holds no core)


def test_exchange_on_a_node_of_its_own_adds_serially(run_sim):
    """λ = 1 alone on its node, free server: each gradient is its compute T, then its exchange X before the push
    leaves, so one gradient per T + X and t_push − t_compute_end = X in the trace (without exchange: 1/T)."""
    r = run_sim({"name": "async", "learners": 1}, cluster={"sample_seconds": T, "exchange_seconds": X}, samples=50)
    assert r.summary["gradients_per_second"] == pytest.approx(1 / (T + X))
    g = r.csv("gradients")
    assert (g.t_compute_end - g.t_compute_start).tolist() == pytest.approx([T] * 50)
    assert (g.t_push - g.t_compute_end).tolist() == pytest.approx([X] * 50)


@pytest.mark.parametrize("shards", [1, 3])
def test_each_shard_beyond_the_first_adds_its_exchange(run_sim, shards):
    """λ = 1 alone, free servers, adv with S shards: the learner fills and sends S pushes and takes in S weights
    messages, so its exchange is X + (S − 1) X_s: X alone with one shard, X + 2 X_s with three."""
    xs = X / 2
    r = run_sim({"name": "async", "learners": 1, "architecture": "adv" if shards > 1 else "base", "shards": shards},
                cluster={"sample_seconds": T, "exchange_seconds": X, "exchange_shard_seconds": xs}, samples=50)
    exchange = X + (shards - 1) * xs
    assert r.summary["gradients_per_second"] == pytest.approx(1 / (T + exchange))
    g = r.csv("gradients")
    assert (g.t_push - g.t_compute_end).tolist() == pytest.approx([exchange] * 50)


@pytest.mark.parametrize("name", ["async", "hardsync"])
def test_exchange_shares_a_single_core_with_the_other_learner(run_sim, name):
    """λ = 2 in lockstep on one single-core node: each job is T + X of work at half speed, so a round of two
    gradients takes 2(T + X) (one per T + X); the trace's compute is its share, 2T, the push leaves at 2(T + X),
    and the compute utilisation counts only that share, T/(T + X)."""
    r = run_sim({"name": name, "learners": 2},
                cluster={"sample_seconds": T, "exchange_seconds": X, "nodes": 1, "cores_per_node": 1}, samples=40)
    assert r.summary["gradients_per_second"] == pytest.approx(1 / (T + X))
    g = r.csv("gradients")
    assert (g.t_compute_end - g.t_compute_start).tolist() == pytest.approx([2 * T] * 40)
    assert (g.t_push - g.t_compute_start).tolist() == pytest.approx([2 * (T + X)] * 40)
    assert r.summary["sim"]["learner_compute_utilisation"] == pytest.approx(T / (T + X))


def test_offpath_work_takes_core_time_from_the_computes(run_sim):
    """λ = 2 in lockstep on one single-core node: each push adds O of background work, so after the first round
    (2T) the core does 2T + 2O per round. The background work is no compute of its own: the learners compute
    (stretched) all the time, utilisation 1, not more."""
    cluster = {"sample_seconds": T, "nodes": 1, "cores_per_node": 1}
    r = run_sim({"name": "async", "learners": 2}, cluster={**cluster, "offpath_seconds": O}, samples=40)
    rounds = r.csv("updates").t.to_numpy()[1::2]
    assert rounds[0] == pytest.approx(2 * T)
    assert (rounds[1:] - rounds[:-1]).tolist() == pytest.approx([2 * (T + O)] * 19)
    assert r.summary["gradients_per_second"] == pytest.approx(40 / (2 * T + 19 * 2 * (T + O)))
    assert r.summary["sim"]["learner_compute_utilisation"] == pytest.approx(1.0)
    without = run_sim({"name": "async", "learners": 2}, cluster=cluster, samples=40)
    assert without.summary["gradients_per_second"] == pytest.approx(1 / T)


def test_offpath_work_inside_the_wait_for_weights_costs_nothing(run_sim):
    """λ = 2 on one node of 2 cores, 3 ms per hop: after a push the learners wait 6 ms for their weights, and
    their 4 ms of background work (one core each) is done before the next computes start, so it slows nothing:
    the same gradients/s as without it."""
    cluster = {"sample_seconds": T, "latency": 0.003, "nodes": 1, "cores_per_node": 2}
    off = run_sim({"name": "async", "learners": 2}, cluster={**cluster, "offpath_seconds": O}, samples=20)
    without = run_sim({"name": "async", "learners": 2}, cluster=cluster, samples=20)
    assert off.summary["gradients_per_second"] == pytest.approx(without.summary["gradients_per_second"])


def test_the_servers_offpath_work_on_the_learners_node_is_one_piece_with_the_learners(run_sim):
    """The server shares the learners' node (a local run): its off-path work after each push joins the learner's
    in one piece, so splitting O between them changes no time; two pieces would count as two processes keeping
    the node busy and slow the computes more."""
    cluster = {"sample_seconds": T, "exchange_seconds": X, "recv_seconds": X / 4, "nodes": 1,
               "server_node": "shared", "cores_per_node": 2}
    learner = run_sim({"name": "async", "learners": 3}, cluster={**cluster, "offpath_seconds": O}, samples=30)
    split = run_sim({"name": "async", "learners": 3},
                    cluster={**cluster, "offpath_seconds": O / 4, "server_offpath_seconds": 3 * O / 4}, samples=30)
    assert split.summary["seconds"] == pytest.approx(learner.summary["seconds"], rel=1e-12)
    assert split.summary["sim"]["cpu_seconds"]["server"][0] > learner.summary["sim"]["cpu_seconds"]["server"][0]


class MeanDraw:
    """Stands in for the node's random generator: a receiver always finds its core busy, held by the first busy
    process listed (random() is 0), and every other draw is its distribution's mean."""

    @staticmethod
    def random() -> float:
        return 0.0

    @staticmethod
    def exponential() -> float:
        return 1.0

    @staticmethod
    def uniform(low: float, high: float) -> float:
        return (low + high) / 2

    @staticmethod
    def poisson(mean: float) -> float:
        return mean

    @staticmethod
    def gamma(shape: float, scale: float) -> float:
        return shape * scale


def _node(wakeup=(0.001, 0.003), rng=MeanDraw, cores=None, tick=None) -> Node:
    """A single-core node (processor sharing: slowdown(k) = k) with a wakeup table for k = 1, 2 (beyond: 0.003);
    waits are the table's means (and half a tick) unless a real generator is given."""
    return Node(simpy.Environment(), lambda k: float(max(1, k)), wakeup, rng, cores, tick=tick)


def test_a_receiver_finds_its_core_busy_with_chance_k_over_cores():
    """The OS wakes a thread on the core it last ran on, even with another core idle: with one process busy on
    2 cores, half the messages wait (20000 draws: within 0.02 of 1/2, about 6 standard errors); with 2 or more
    busy, every one does."""
    node = _node(rng=np.random.default_rng(0), cores=2)
    node.compute(0.0, 1e9, lambda t: None)
    waited = np.mean([node.woken(SOON) > 0 for _ in range(20000)])
    assert waited == pytest.approx(0.5, abs=0.02)
    node.compute(0.0, 1e9, lambda t: None)
    assert all(node.woken(SOON) > 0 for _ in range(1000))


def test_woken_waits_are_exponential_with_the_table_as_their_mean():
    """The OS's waits for a core are mostly short with a tail of whole time slices: each wait is drawn
    exponential with the table's mean (20000 draws: the mean within 3 %, about 4 standard errors; cv ≈ 1)."""
    node = _node(rng=np.random.default_rng(0))
    node.compute(0.0, 1e9, lambda t: None)  # busy for as long as the draws take: the cap never binds
    waits = np.array([node.woken(SOON) for _ in range(20000)])
    assert waits.mean() == pytest.approx(0.001, rel=0.03)
    assert waits.std() / waits.mean() == pytest.approx(1.0, rel=0.05)


def test_woken_is_the_table_value_for_the_processes_busy_now():
    """Nothing busy: no wait. k computes busy: wakeup[k − 1], the last value beyond the table; no table: none."""
    node = _node()
    assert node.woken(SOON) == 0.0
    node.compute(0.0, 1.0, lambda t: None)
    assert node.woken(SOON) == pytest.approx(0.001)
    node.compute(0.0, 1.0, lambda t: None)
    assert node.woken(SOON) == pytest.approx(0.003)
    node.compute(0.0, 1.0, lambda t: None)
    assert node.woken(SOON) == pytest.approx(0.003)
    bare = _node(())
    bare.compute(0.0, 1.0, lambda t: None)
    assert bare.woken(SOON) == 0.0


def test_woken_counts_server_work_and_ends_when_the_cores_runner_does():
    """A message never waits past the end of what holds its core: server work ending in 0.0005 s caps the wait
    at that; of two computes of 0.0004 and 1 s at half speed, the first (holding the core here) ends in 0.0008 s
    (< wakeup[1] = 0.003); a lone compute near its end caps it at what is left."""
    server = _node()
    server.serve(0.0, 0.0005)
    assert server.woken(SOON) == pytest.approx(0.0005)
    shared = _node()
    shared.compute(0.0, 0.0004, lambda t: None)
    shared.compute(0.0, 1.0, lambda t: None)
    assert shared.woken(SOON) == pytest.approx(0.0008)
    late = _node()
    late.compute(0.0, 1.0, lambda t: None)
    late.env.run(until=0.9998)
    assert late.woken(SOON) == pytest.approx(0.0002)


def test_a_message_finds_the_node_as_it_is_when_it_arrives():
    """The cores are looked at when the message arrives, not when it is sent: server work over by then, or a
    compute that will have ended (0.0004 s of work alone, over at 0.0004), holds no core, nor does one starting
    at that very moment (woken with it); one that started before and still runs does."""
    server = _node()
    server.serve(0.0, 0.0005)
    assert server.woken(0.0004) == pytest.approx(0.0001) and server.woken(0.0005) == 0.0
    ending = _node()
    ending.compute(0.0, 0.0004, lambda t: None)
    assert ending.woken(0.0003) == pytest.approx(0.0001) and ending.woken(0.0004) == 0.0
    starting = _node()
    starting.compute(0.002, 1.0, lambda t: None)
    assert starting.woken(0.002) == 0.0 and starting.woken(0.0021) == pytest.approx(0.001)


def test_a_compute_booked_to_start_before_the_message_holds_its_core_for_its_work_only():
    """A compute not started yet when the message is timed (its weights still on their way) but started by the
    time it arrives holds the core for its work, as a running one does, not for ever: 0.0005 s of work starting
    at 0.001 caps the wait of a message arriving at 0.0012 at 0.0003 (wakeup[0] is 0.001), and one arriving at
    0.002 finds it over. Counted as holding the core for ever, it kept the third and fourth learner of a
    hardsync round on two cores waiting a whole wakeup, and the digits mlp's λ = 4 came out 20 % slow."""
    node = _node()
    node.compute(0.001, 0.0005, lambda t: None)
    assert node.woken(0.0012) == pytest.approx(0.0003)
    assert node.woken(0.002) == 0.0


def test_server_work_is_slowed_by_the_computes_still_running_when_it_starts():
    """Server work timed now but starting later (a push still on its way) shares the core with the computes that
    still run then, not with those over by then: a compute of 0.0004 s alone slows work starting at 0.0003 (×2 on
    one core) and not work starting at 0.0005; server work booked for then counts too."""
    node = _node()
    node.compute(0.0, 0.0004, lambda t: None)
    assert node.factor(0.0003) == 2.0 and node.factor(0.0005) == 1.0
    node.serve(0.0004, 0.001)
    assert node.factor(0.0005) == 2.0 and node.factor(0.001) == 1.0


def test_computes_get_only_the_cores_that_server_work_leaves():
    """Server work's time is fixed when it is timed, so a compute that starts after it cannot slow it; the
    compute gets what is left. One core: server work timed alone (factor 1) holds the whole core for its 1 ms,
    so a compute of 1 ms alone starting beside it ends at 2 ms (processor sharing would end it at 1.5 ms, the
    core doing 1.5 ms of work in 1 ms). Server work timed beside a compute (factor 2) holds half the core, and
    the compute runs at half speed beside it, ending at 1.5 ms."""
    ended = []
    for factor in (1.0, 2.0):
        node = _node(cores=1)
        node.serve(0.0, 0.001, factor)
        node.compute(0.0, 0.001, ended.append)
        node.env.run()
    assert ended == pytest.approx([0.002, 0.0015])


def test_a_compute_ending_as_server_work_takes_every_core_ends_then():
    """A compute of 1 ms on one core is done at 1 ms just as server work booked then takes the whole core: its
    rate from then on is 0, yet it ends at 1 ms, not never (nor with a division by zero)."""
    ended = []
    node = _node(cores=1)
    node.compute(0.0, 0.001, ended.append)
    node.env.run(until=0.001)  # the compute's end is due now and not processed yet
    node.serve(0.001, 0.002, 1.0)
    node.env.run()
    assert ended == pytest.approx([0.001])


def test_a_push_queued_behind_its_servers_work_waits_no_longer_than_that_work(run_sim):
    """hardsync, λ = 2 on a 2-core node with its server (a core idle): both learners compute T and push at once.
    The first push finds nothing else busy and the loop takes it in at once (P); the second's receive thread
    finds its core held by the loop's work on the first with chance 1/2, and then waits until that work ends, no
    longer: the loop takes it in next either way, and every round is exactly T + 2 P. (With a wait of its own, of
    mean wakeup = 5 ms, a quarter of the rounds or more were longer.)"""
    t, p = 0.01, 0.002
    run = run_sim({"name": "hardsync", "learners": 2},
                  cluster={"sample_seconds": t, "push_seconds": p, "nodes": 1, "server_node": "shared",
                           "cores_per_node": 2, "wakeup": [0.005], "tick_seconds": 0.004}, samples=40)
    rounds = np.diff(run.csv("updates").t.to_numpy())
    assert rounds.tolist() == pytest.approx([t + 2 * p] * len(rounds))


def test_while_a_core_is_idle_the_wait_is_the_runners_burst_up_to_the_next_tick():
    """2 cores, one compute busy (a core idle): a message that finds its core busy waits until that compute ends
    (0.0002 s left), whatever wakeup[0] (0.001) says, or until its core's next tick (the mean draw: half of 4 ms)
    when the compute runs longer; without a tick, the whole rest (0.5 s). Once both cores are busy the wait is
    wakeup[1], ended with the runner's burst (0.0002 s left on the one holding the core)."""
    for tick, rest, waits in ((0.004, 0.0002, 0.0002), (0.004, 0.5, 0.002), (None, 0.5, 0.5)):
        idle = _node(cores=2, tick=tick)
        idle.compute(0.0, 1.0, lambda t: None)
        idle.env.run(until=1.0 - rest)
        assert idle.woken(SOON) == pytest.approx(waits)
    full = _node(cores=2)
    full.compute(0.0, 0.0001, lambda t: None)  # at half speed (slowdown(2) = 2): 0.0002 s left
    full.compute(0.0, 1.0, lambda t: None)
    assert full.woken(SOON) == pytest.approx(0.0002)


def test_a_thread_handed_the_message_waits_only_once_every_core_is_busy():
    """The message loop, woken by its receive thread, takes the core that thread leaves: with one of 2 cores busy
    it does not wait (a receiver woken from outside waits out the compute's last 0.0002 s); with both busy other
    processes are queued for that core and it waits as a woken receiver does (the 0.0002 s left on the one holding
    it)."""
    idle = _node(cores=2)
    idle.compute(0.0, 1.0, lambda t: None)
    idle.env.run(until=0.9998)
    assert idle.woken(SOON, handed=True) == 0.0 and idle.woken(SOON) == pytest.approx(0.0002)
    full = _node(cores=2)
    full.compute(0.0, 0.0001, lambda t: None)
    full.compute(0.0, 1.0, lambda t: None)
    assert full.woken(SOON, handed=True) == pytest.approx(0.0002)


def test_a_message_wakes_the_shards_loop_only_when_the_loop_is_idle(run_sim, monkeypatch):
    """hardsync, λ = 2 on a 2-core node with its server, P of the loop's work per push; woken threads wait 0 and
    a handed one D. Both learners push at T: the first push finds the loop idle (waiting on its inbox), so it
    waits D for the loop, then P; the second finds the loop busy with the first and is served after it without
    a wake-up. Every round: T + D + 2P (without the loop's wake-up, T + 2P; woken for both pushes, T + 2D + 2P)."""
    t, p, d = 0.01, 0.002, 0.003
    monkeypatch.setattr(Node, "woken", lambda self, at, handed=False, takes=0.0: d if handed else 0.0)
    run = run_sim({"name": "hardsync", "learners": 2},
                  cluster={"sample_seconds": t, "push_seconds": p, "nodes": 1, "server_node": "shared",
                           "cores_per_node": 2, "wakeup": [0.005]}, samples=40)
    rounds = np.diff(run.csv("updates").t.to_numpy())
    assert rounds.tolist() == pytest.approx([t + d + 2 * p] * len(rounds))


def test_a_receiver_that_gets_a_computes_core_takes_its_work_from_that_compute():
    """2 cores, one compute of 1 s running (a core idle): a receive thread woken at 0.5 s finds its core held by
    that compute, waits for its core's next tick (half of 4 ms, the mean draw) and runs its 0.003 s of work there,
    so the compute ends at 1.003 s. A compute that ends before the tick (woken at 0.9998 s), a handed thread (it
    takes its waker's core) and a message that finds both cores busy (sharing already slows the computes for the
    server's work) take nothing."""
    def ends(woken_at: float, **woken) -> list:
        node, ended = _node(cores=2, tick=0.004), []
        node.compute(0.0, 1.0, ended.append)
        node.env.run(until=woken_at)
        node.woken(SOON + woken_at, **woken)
        node.env.run()
        return ended
    assert ends(0.5, takes=0.003) == pytest.approx([1.003])
    assert ends(0.9998, takes=0.003) == pytest.approx([1.0])
    assert ends(0.5, takes=0.003, handed=True) == pytest.approx([1.0])
    assert ends(0.5) == pytest.approx([1.0])
    full, ended = _node(cores=2), []
    full.compute(0.0, 1.0, ended.append)
    full.compute(0.0, 1.0, ended.append)
    full.env.run(until=0.5)
    full.woken(SOON + 0.5, takes=0.003)
    full.env.run()
    assert ended == pytest.approx([2.0, 2.0])  # slowdown(2) = 2 on this node


def test_a_compute_booked_to_start_later_loses_the_work_of_a_receiver_woken_on_its_core():
    """The compute holding the core may be booked to start before the message and not have started yet (its
    start is in the future when the message is timed): it loses the receiver's work all the same."""
    node, ended = _node(cores=2, tick=0.004), []
    node.compute(0.1, 1.0, ended.append)
    node.woken(0.5, takes=0.003)
    node.env.run()
    assert ended == pytest.approx([1.103])


def test_while_a_core_is_idle_a_long_burst_holds_its_core_until_a_tick_at_a_random_moment():
    """2 cores, one compute busy that outlasts every wait: a message that finds its core busy waits uniformly on
    (0, tick), the time to its core's next tick seen at a random moment (20000 draws, of which about half wait:
    the mean within 3 %, about 4 standard errors; cv 1/√3 against an exponential's 1)."""
    node = _node(rng=np.random.default_rng(0), cores=2, tick=0.002)
    node.compute(0.0, 1e9, lambda t: None)
    waits = np.array([node.woken(SOON) for _ in range(20000)])
    waits = waits[waits > 0]
    assert waits.max() <= 0.002 and waits.mean() == pytest.approx(0.001, rel=0.03)
    assert waits.std() / waits.mean() == pytest.approx(1 / np.sqrt(3), rel=0.05)


def _computes(wakeup, others: int, n: int = 4000) -> np.ndarray:
    """Seconds each of n computes of 1 ms of work takes on one core (processor sharing), started one at a time
    beside `others` computes that never end: sharing alone would stretch each to (others + 1) ms."""
    node = _node(wakeup, rng=np.random.default_rng(1))
    for _ in range(others):
        node.compute(0.0, 1e12, lambda t: None)
    times = []
    for _ in range(n):
        start = node.env.now
        node.compute(start, 1e-3, lambda t, start=start: times.append(t - start))
        node.env.run(until=start + 1.0)
    return np.array(times)


def test_a_compute_beside_busy_processes_runs_alone_and_loses_whole_holds_of_its_core():
    """Beside k busy processes on one core, sharing stretches 1 ms of work by k + 1; the OS instead runs it at its
    speed alone and gives its core away for holds of mean wakeup[k − 1]. Beside one (holds of 1 ms: a Poisson
    mean of 1 hold), 1/e of the computes lose none and take 1 ms, and the mean stays sharing's 2 ms; beside two
    (holds of 4 ms: mean 0.5 hold) 61 % take 1 ms and the mean is 3 ms. 4000 computes: the fractions within
    0.03 (about 4 standard errors), the means within 5 % (about 4). Alone, or without a wakeup table (sharing
    evenly), every compute takes exactly its stretch."""
    for others, none in [(1, np.exp(-1)), (2, np.exp(-0.5))]:
        times = _computes((0.001, 0.004), others)
        assert np.mean(np.isclose(times, 1e-3)) == pytest.approx(none, abs=0.03)
        assert times.mean() == pytest.approx((others + 1) * 1e-3, rel=0.05)
        assert times.min() == pytest.approx(1e-3)
    assert _computes((0.001, 0.004), 0, 50).tolist() == pytest.approx([1e-3] * 50)
    assert _computes((), 2, 50).tolist() == pytest.approx([3e-3] * 50)


@pytest.mark.parametrize("protocol, c", [({"name": "async"}, 1), ({"name": "softsync", "n": 2}, 2)])
def test_adv_star_pushes_wait_for_a_free_slot_at_a_slow_server(run_sim, protocol, c):
    """adv*, λ = 4, one shard 10× slower per update than a compute: the server's rate, c gradients per update
    time, bounds gradients/s. Without the receive window the learners kept pushing at λ/T into the queue, so σ
    grew with the run (max σ ≈ 395 for async at 400 gradients). With it a push's send returns only once the
    shard has a free slot (W = inbox_slots(λ, c)), so at most W messages plus one blocked push per learner wait
    there. Roughly, a gradient's σ is the updates ahead of it when it arrives (≤ W + λ) plus those during the
    blocked sends between its weights' version and its push (each waits for the oldest of a full window: ≤ W +
    λ more), plus as many while the pull that would refresh its weights waits for the blocked push before it
    (a learner's pull never overtakes its push); its 2T of compute covers < 1 update. Bound: 3(W + λ)
    (measured 31 of 39 for async, 15 of 42 for c = 2), and max σ is the same at 400 and 2000 gradients:
    bounded, not growing with the run."""
    lam, U = 4, 10 * 0.001
    window = inbox_slots(lam, c)
    runs = [run_sim({**protocol, "learners": lam, "architecture": "adv*"},
                    cluster={"sample_seconds": 0.001, "update_seconds": U}, sim={"trace": "summary"}, samples=n).summary
            for n in (400, 2000)]
    for s in runs:
        assert s["gradients_per_second"] == pytest.approx(c / U, rel=0.02)
        assert s["staleness"]["max"] <= 3 * (window + lam)
    assert runs[0]["staleness"]["max"] == runs[1]["staleness"]["max"]
    assert runs[1]["staleness"]["mean"] == pytest.approx(runs[0]["staleness"]["mean"], rel=0.1)


@pytest.mark.parametrize("name", ["async", "softsync"])
def test_adv_star_messages_on_one_connection_keep_their_order(run_sim, name):
    """adv* on one shared node, its server always busy, whose waits for a core are long and random (a mean of 5
    compute times): a learner's pushes and pull requests to a shard still reach it in the order sent, as on one TCP
    connection (with waits not capped by the first busy process to finish, a later push overtook an earlier one
    and the protocol refused it: ProtocolError). Each learner's gradients are applied in step order, and none is
    computed on weights older than its previous gradient's."""
    cluster = {"sample_seconds": T, "nodes": 1, "cores_per_node": 2, "server_node": "shared",
               "wakeup": [5 * T], "update_seconds": 2 * T, "latency": T / 10}  # a busy server: waits run long
    protocol = {"name": name, "learners": 4, "architecture": "adv*"} | ({"n": 1} if name == "softsync" else {})
    r = run_sim(protocol, cluster=cluster, samples=400)
    grads = r.csv("gradients").sort_values(["learner", "step"])
    for _, g in grads.groupby("learner"):
        assert g.applied_version.is_monotonic_increasing and g.pulled_version.is_monotonic_increasing
    assert r.summary["gradients"] == 400
