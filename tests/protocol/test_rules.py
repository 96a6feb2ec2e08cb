"""The protocol rule objects alone: batch size, when an update is due, which pulls wait."""
from rudra.protocol import BarrierShrunk, ProtocolSpec
from rudra.protocol.rules import Hardsync, Softsync, StalenessBound, rules_for


def test_rules_for_picks_one_object_per_protocol():
    assert type(rules_for(ProtocolSpec(name="hardsync", learners=3))) is Hardsync
    soft = rules_for(ProtocolSpec(name="softsync", learners=10, n=3))
    assert type(soft) is Softsync and soft.c == 3
    assert rules_for(ProtocolSpec(name="async", learners=10)).c == 1


def test_softsync_is_due_every_c_gradients_and_its_c_follows_the_learners_present():
    rules = Softsync(n=2, present=6)
    assert [rules.pushed(l, k) for k, l in enumerate(range(6), start=1)][:3] == [False, False, True]
    rules.resize(3)
    assert rules.c == 1 and rules.due(1) and rules.left(0) == []
    assert rules.reason is None  # never holds a pull itself


def test_hardsync_round_closes_at_the_last_present_learner_and_a_leave_can_close_it():
    rules = Hardsync(present=3)
    assert not rules.pushed(0, 1) and rules.closed(0, 0) and not rules.closed(2, 0) and not rules.opened(0)
    assert rules.pushed(1, 2) is False
    rules.resize(2)
    assert rules.left(2) == [BarrierShrunk(2, 2)]
    assert rules.due(2) and rules.opened(0)       # the round is complete: the update starts the next
    assert not rules.due(0)                      # nothing buffered: no update


def test_staleness_bound_closes_while_an_in_flight_version_is_too_old():
    bound = StalenessBound(2)
    bound.granted(0, 0)
    bound.granted(1, 1)
    assert not bound.closed(5, 1)
    assert bound.closed(5, 2) and not bound.opened(2)  # learner 0 computes on 0 = 2 − 2
    bound.settle(0)
    assert bound.opened(2)
    bound.granted(1, 3)                               # a new grant replaces learner 1's in-flight version
    assert bound.inflight == {1: 3} and bound.count == {3: 1}
