"""Scripted event orders against docs/DESIGN.md's protocol semantics."""
from collections import deque

import pytest

from rudra.protocol import (COMPUTING, GONE, HELD, IDLE, BarrierShrunk, Hold, Join, Leave, ParameterServer, ProtocolError,
                      ProtocolSpec, Pull, Push, Send, Update)
from tests.protocol.harness import Cluster


def snapshot(server: ParameterServer) -> dict:
    """Everything observable about the machine, to check that a refused event changed nothing."""
    out = {}
    for k, v in vars(server).items():
        if k == "_learners":
            v = {l: (r.state, r.sent, r.floor, r.steps) for l, r in v.items()}
        elif k in ("_rules", "_bound") and v is not None:  # rule objects: their slots, containers copied
            v = {a: _copy(getattr(v, a)) for a in type(v).__slots__}
        else:
            v = _copy(v)
        out[k] = v
    return out


def _copy(v):
    return type(v)(v) if isinstance(v, (dict, list, set, deque)) else v


# --- hardsync -------------------------------------------------------------------

def test_hardsync_one_update_per_round_with_zero_staleness():
    """λ gradients, all on the current version, make exactly one update; σ is always 0."""
    c = Cluster(name="hardsync", learners=4)
    c.round_robin(4 * 25)
    assert len(c.updates) == 25
    assert all(len(u.gradients) == 4 for u in c.updates)
    assert set(c.staleness()) == {0}
    assert [u.version for u in c.updates] == list(range(1, 26))


def test_hardsync_holds_pulls_until_the_barrier_update():
    """A learner that already pushed this round waits; the update releases every held learner."""
    c = Cluster(name="hardsync", learners=3)
    c.start()
    c.cycle(0)
    c.cycle(1)
    assert [h.reason for h in c.holds] == ["barrier", "barrier"]
    assert c.server.state(0) == HELD and c.server.state(1) == HELD
    out = c.push(2)
    assert [type(d) for d in out] == [Update, Send, Send]
    assert {(d.learner, d.version) for d in out[1:]} == {(0, 1), (1, 1)}
    assert c.pull(2) == [Send(2, 1)]


def test_hardsync_scales_average_the_gradients():
    c = Cluster(name="hardsync", learners=4)
    c.round_robin(4)
    assert [a.scale for a in c.updates[0].gradients] == [0.25] * 4


def test_hardsync_second_push_in_a_round_is_a_push_without_a_pull():
    c = Cluster(name="hardsync", learners=2)
    c.start()
    c.push(0)
    before = snapshot(c.server)
    with pytest.raises(ProtocolError, match="push without a pull"):
        c.server.push(0, 0)
    assert snapshot(c.server) == before
    assert c.pull(0) == [Hold(0, "barrier")]


def test_hardsync_leave_shrinks_the_barrier_and_keeps_pushed_gradients():
    """A leaving learner completes the round if everyone else has pushed; its own gradient is kept."""
    c = Cluster(name="hardsync", learners=3)
    c.start()
    c.push(0, "g0")
    c.push(1, "g1")
    out = c.leave(2)
    assert out[0] == BarrierShrunk(2, 2)
    assert type(out[1]) is Update and [a.gradient for a in out[1].gradients] == ["g0", "g1"]
    c.pull(0)
    c.pull(1)
    c.push(1, "late")          # learner 1 pushes, waits at the barrier, then leaves
    assert c.pull(1) == [Hold(1, "barrier")]
    assert c.leave(1) == [BarrierShrunk(1, 1)]
    out = c.push(0, "g0b")
    assert [a.gradient for a in out[0].gradients] == ["late", "g0b"]
    assert [a.scale for a in out[0].gradients] == [0.5, 0.5]


# --- n-softsync and async ------------------------------------------------------------

@pytest.mark.parametrize("learners,n,c", [(30, 1, 30), (30, 2, 15), (30, 7, 4), (30, 30, 1), (5, 3, 1)])
def test_softsync_applies_every_c_gradients_and_never_holds(learners, n, c):
    cl = Cluster(name="softsync", learners=learners, n=n)
    cl.round_robin(600)
    assert cl.server.c == c
    assert cl.holds == []
    assert all(len(u.gradients) == c for u in cl.updates)
    assert len(cl.updates) == 600 // c


def test_softsync_gradients_from_any_learners():
    """1-softsync is not hardsync: one learner may fill the whole batch."""
    c = Cluster(name="softsync", learners=3, n=1)
    c.start()
    for _ in range(2):
        c.cycle(0)
    c.push(0)
    assert len(c.updates) == 1
    assert [a.learner for a in c.updates[0].gradients] == [0, 0, 0]


def test_async_one_update_per_gradient():
    c = Cluster(name="async", learners=8)
    c.round_robin(200)
    assert len(c.updates) == 200
    assert all(len(u.gradients) == 1 for u in c.updates)
    assert c.staleness()[8:] == [7] * 192


def test_softsync_leave_keeps_going_with_the_others():
    """A leaving learner never stalls softsync: c shrinks with λ and pending gradients are applied."""
    c = Cluster(name="softsync", learners=4, n=1)
    c.start()
    for l in (0, 1, 2):
        c.push(l, l)
    out = c.leave(3)
    assert [type(d) for d in out] == [Update]
    assert c.server.c == 3
    for l in (0, 1, 2):
        c.pull(l)
    for l in (0, 1):
        c.leave(l)
    assert c.server.c == 1
    c.push(2)
    assert len(c.updates) == 2


# --- learning-rate policies ------------------------------------------------------------

@pytest.mark.parametrize("policy,lr,scales", [
    ("constant", 0.1, [0.5, 0.5]),
    ("mean-staleness", 0.1 / 2, [0.5, 0.5]),
    ("per-gradient", 0.1, [0.5 / 3, 0.5]),
])
def test_lr_policies_give_the_documented_scales(policy, lr, scales):
    """4 learners, 2-softsync (c = 2): one update holds gradients of σ = 3 and σ = 1."""
    from rudra.protocol import LrSchedule
    c = Cluster(LrSchedule(base=0.1), name="softsync", learners=4, n=2, lr_policy=policy)
    c.start()                     # everyone holds version 0; learners 0 and 1 then alternate
    for _ in range(3):
        c.cycle(0)
        c.cycle(1)                # each pair of pushes makes an update: version 3 after three
    c.push(2)                     # computed on version 0: σ = 3
    c.push(0)                     # computed on version 2: σ = 1
    u = c.updates[-1]
    assert u.version == 4
    assert [a.staleness for a in u.gradients] == [3, 1]
    assert [a.scale for a in u.gradients] == pytest.approx(scales)
    assert u.lr == pytest.approx(lr)


def test_lr_schedule_steps_by_epoch():
    from rudra.protocol import LrSchedule
    s = LrSchedule(base=1.0, steps=(2, 3), gamma=0.1, gradients_per_epoch=10)
    assert [s.at(g) for g in (0, 19, 20, 29, 30, 1000)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    c = Cluster(s, name="async", learners=1)
    c.round_robin(35)
    assert [u.lr for u in c.updates][19:22] == pytest.approx([1, 0.1, 0.1])


@pytest.mark.parametrize("per_epoch", [10, 3.0, 7.7, 100 / 3, 0.3, 1 / 3])
def test_lr_schedule_holds_until_never_skips_a_step(per_epoch):
    """The server keeps the rate until `holds_until`; read that way, every gradient count gets at()'s
    rate, including steps that fall between counts or on float-rounded boundaries."""
    from rudra.protocol import LrSchedule
    s = LrSchedule(base=1.0, steps=(0.1, 1 / 3, 1.5, 2.2, 7), gamma=0.5, gradients_per_epoch=per_epoch)
    rate, until = None, 0
    for g in range(400):
        if g >= until:
            rate, until = s.at(g), s.holds_until(g)
            assert until > g
        assert rate == s.at(g), g


# --- max_staleness ------------------------------------------------------------------------

def test_max_staleness_holds_and_releases():
    """Bound 2: once the slowest in-flight gradient is 2 versions old, pulls wait for it."""
    c = Cluster(name="async", learners=3, max_staleness=2)
    c.start()                    # all hold version 0; learner 2 is slow
    c.cycle(0)                   # v1; 0 gets v1
    assert c.holds == []
    c.cycle(1)                   # v2; learner 2's weights are now 2 versions old -> 1 is held
    assert c.holds == [Hold(1, "staleness")]
    c.push(0)                    # v3: learner 0 may still push what it holds
    assert c.pull(0) == [Hold(0, "staleness")]
    out = c.push(2)              # the slow gradient lands (σ = 3) and releases everyone
    assert [type(d) for d in out] == [Update, Send, Send]
    assert out[0].gradients[0].staleness == 3
    assert {d.learner for d in out[1:]} == {0, 1}
    assert c.pull(2) == [Send(2, 4)]


def test_max_staleness_leave_releases():
    c = Cluster(name="async", learners=2, max_staleness=1)
    c.start()
    c.cycle(0)
    assert c.holds == [Hold(0, "staleness")]
    out = c.leave(1)
    assert out == [Send(0, 1)]


def test_max_staleness_bounds_round_robin_with_a_straggler():
    """A learner 30× slower: unbounded, its σ is ≈ 29; with s = 4 it stays ≤ s + λ − 1."""
    def run(bound):
        c = Cluster(name="async", learners=4, max_staleness=bound)
        c.start()
        for k in range(400):
            l = 3 if k % 30 == 29 else k % 3
            if c.holding.get(l) is None:
                continue
            c.cycle(l)
        return max(c.staleness())
    assert run(None) >= 25
    assert run(4) <= 4 + 3


# --- joins and errors ----------------------------------------------------------------------

def test_join_adds_a_learner_to_the_hardsync_barrier():
    c = Cluster(name="hardsync", learners=2)
    c.start()
    c.push(0)
    assert c.join(7) == []
    c.pull(7)
    c.push(1)
    assert c.updates == []
    c.push(7)
    assert len(c.updates) == 1 and len(c.updates[0].gradients) == 3


def test_rejoin_after_leave():
    c = Cluster(name="async", learners=2)
    c.start()
    c.leave(1)
    assert c.server.state(1) == GONE
    c.join(1)
    assert c.server.state(1) == IDLE
    c.pull(1)
    assert c.server.state(1) == COMPUTING
    c.push(1)
    assert len(c.updates) == 1


@pytest.mark.parametrize("script,event,match", [
    ([], Push(0, 0), "push without a pull"),
    ([], Push(9, 0), "unknown learner 9"),
    ([], Pull(9), "unknown learner 9"),
    ([], Leave(9), "unknown learner 9"),
    ([Pull(0)], Push(0, 5), "never had"),
    ([Pull(0)], Push(0, -1), "never had"),
    ([Pull(0)], Pull(0), "pull before pushing"),
    ([Pull(0)], Join(0), "already present"),
    ([], Join(-1), "ids are >= 0"),
    ([Leave(0)], Pull(0), "left"),
    ([Leave(0)], Push(0, 0), "left"),
    ([Leave(0)], Leave(0), "already left"),
    ([Pull(0), Push(0, 0), Pull(1), Push(1, 0), Pull(0)], Push(0, 0), "holds version 1"),
])
def test_impossible_events_raise_and_change_nothing(script, event, match):
    server = ParameterServer(ProtocolSpec(name="softsync", learners=2, n=1))
    for e in script:
        server.handle(e)
    before = snapshot(server)
    with pytest.raises(ProtocolError, match=match):
        server.handle(event)
    assert snapshot(server) == before


def test_held_learner_cannot_pull_or_push_in_base():
    server = ParameterServer(ProtocolSpec(name="hardsync", learners=2))
    server.handle(Pull(0))
    server.handle(Push(0, 0))
    server.handle(Pull(0))
    before = snapshot(server)
    for event, match in ((Pull(0), "earlier pull is held"), (Push(0, 0), "held")):
        with pytest.raises(ProtocolError, match=match):
            server.handle(event)
        assert snapshot(server) == before


def test_overlap_lets_pull_and_push_interleave():
    """adv*: the pull thread fetches newer weights while the gradient on older ones is in flight."""
    c = Cluster(name="async", learners=2, architecture="adv*")
    c.start()
    c.cycle(1)                                  # v1
    assert c.server.pull(0) == [Send(0, 1)]     # 0 re-pulls mid-compute
    out = c.server.push(0, 0)                   # and pushes its gradient on version 0
    assert out[0].gradients[0].staleness == 1
    assert c.server.state(0) == COMPUTING
    c.server.push(0, 1)
    with pytest.raises(ProtocolError, match="pushed on version 1 already"):
        c.server.push(0, 0)


def test_invalid_spec_is_refused_by_the_machine():
    with pytest.raises(ValueError, match="protocol.n"):
        ParameterServer(ProtocolSpec(name="softsync", learners=3, n=4))
    with pytest.raises(ValueError, match="protocol.architecture"):
        ParameterServer(ProtocolSpec(name="hardsync", learners=3, architecture="adv*"))
    # shard 0 granting learner A and holding B while shard 1 holds A and grants B: nobody pushes again
    with pytest.raises(ValueError, match="protocol.max_staleness"):
        ParameterServer(ProtocolSpec(name="async", learners=3, architecture="adv", shards=2, max_staleness=2))


def test_restore_continues_versions_and_steps():
    """A resumed run: versions and each learner's step count go on from the checkpoint."""
    c = Cluster(name="async", learners=2)
    c.server.restore(version=10, gradients_applied=10, steps=[6, 4])
    c.start()
    assert c.holding == {0: 10, 1: 10}
    c.push(1)
    u = c.updates[0]
    assert u.version == 11 and u.gradients[0].step == 4 and u.gradients[0].staleness == 0
    with pytest.raises(ProtocolError, match="fresh machine"):
        c.server.restore(0, 0, [0, 0])


def test_train_spec_fixes_epoch_length_target_and_schedule():
    """An epoch is N/μ gradients; the run ends after epochs·N/μ; lr steps at the given epochs."""
    from rudra.protocol import TrainSpec
    t = TrainSpec(minibatch=8, epochs=2.5, lr=1.0, lr_steps=(2.0,), lr_gamma=0.5)
    assert t.gradients_per_epoch(100) == 12.5
    assert t.target_gradients(100) == 32            # ⌈31.25⌉
    assert TrainSpec(minibatch=4, epochs=3).target_gradients(100) == 75
    s = t.schedule(100)
    assert (s.at(24), s.at(25)) == (1.0, 0.5)
