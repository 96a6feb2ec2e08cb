"""The learner machine alone, with scripted server answers, and wired to real ParameterServers."""
import math

import pytest

from rudra.protocol import ProtocolError, ProtocolSpec
from rudra.protocol.learner import (ADOPT, AWAITING, COMPUTE, COMPUTING, EVENTS, HANDING, IDLE, JUDGED_BY,
                                    OVERLAP_TRANSITIONS, PULL, PULLING, PUSH, PUSH_PULL, SENDING,
                                    SERIAL_TRANSITIONS, STOPPED, WAITING, OverlapLearner, SerialLearner,
                                    learner_class, new_learner)
from tests.protocol.wiring import Wired


def snapshot(m) -> dict:
    """Every slot of the machine (lists copied), to check that a refused event changed nothing."""
    slots = [a for cls in type(m).__mro__ for a in getattr(cls, "__slots__", ())]
    return {a: list(v) if isinstance(v := getattr(m, a), list) else v for a in slots}


def play(m, *events) -> list[tuple]:
    """Feed events (tuples, as `handle` takes them); the decisions of each."""
    return [m.handle(e) for e in events]


# --- serial learners (base, adv) -------------------------------------------------------------------------

def test_serial_pull_compute_push_with_the_next_pull_riding_along():
    m = SerialLearner()
    assert play(m, ("begin",), ("weights", 0, 3)) == [(PULL,), (ADOPT, COMPUTE, PUSH_PULL)]
    assert m.pushed == (3,) and m.pushes == 1 and m.state is AWAITING  # for the answers to the next pull
    assert play(m, ("weights", 0, 5)) == [(ADOPT, COMPUTE, PUSH_PULL)] and m.versions == (5,) and m.pushes == 2


def test_serial_compute_starts_once_every_shard_answered_and_a_hold_changes_nothing():
    m = SerialLearner(shards=2)
    assert not SerialLearner.hears_holds
    assert play(m, ("begin",), ("held", 1), ("weights", 0, 4)) == [(PULL,), (), ()]
    assert m.holds == 1 and m.state is AWAITING
    assert m.weights(1, 2) == (ADOPT, COMPUTE, PUSH_PULL)
    assert m.versions == (4, 2) and m.holds == 0


@pytest.mark.parametrize("script,event,match", [
    ([], ("weights", 0, 1), "no pull is in flight"),
    ([("begin",), ("weights", 0, 1), ("weights", 1, 1)], ("computed",), "decided whole by the last weights"),
    ([("begin",)], ("begin",), "begun already"),
    ([("begin",)], ("weights", 2, 1), "there are 2 shards"),
    ([("begin",)], ("weights", 0, -1), "versions are >= 0"),
    ([("begin",), ("weights", 0, 1)], ("weights", 0, 1), "already sent version 1"),
    ([("begin",), ("held", 1)], ("held", 1), "already held this pull"),
    ([("begin",), ("weights", 0, 1), ("weights", 1, 1), ("weights", 0, 2)], ("held", 0), "already sent version 2"),
    ([("begin",)], ("sent",), "no push thread"),
    ([("begin",)], ("teleport",), "unknown learner event"),
])
def test_serial_illegal_events_raise_and_change_nothing(script, event, match):
    m = SerialLearner(shards=2)
    play(m, *script)
    before = snapshot(m)
    with pytest.raises(ProtocolError, match=match):
        m.handle(event)
    assert snapshot(m) == before


# --- overlap learners (adv*) ------------------------------------------------------------------------------

def test_overlap_computes_on_the_newest_weights_while_a_pull_is_in_flight():
    m = OverlapLearner()
    assert play(m, ("begin",), ("weights", 0, 0)) == [(PULL,), (ADOPT, PULL, COMPUTE)]
    assert m.computed() == (PUSH, COMPUTE)          # no second pull while one is in flight
    assert m.pushed == (0,) and m.versions == (0,)
    assert m.weights(0, 2) == ()                    # fresh, adopted at the next minibatch start
    assert m.sent() == ()
    assert m.computed() == (PUSH, ADOPT, PULL, COMPUTE)
    assert m.pushed == (0,) and m.versions == (2,)  # pushed on what it was computed on


def test_overlap_gradient_waits_only_while_the_previous_push_is_leaving():
    m = OverlapLearner()
    play(m, ("begin",), ("weights", 0, 0), ("computed",))
    assert m.computed() == () and m.compute_thread is HANDING and m.push_thread is SENDING
    assert m.sent() == (PUSH, COMPUTE) and m.pushes == 2


def test_overlap_held_learner_stops_before_its_next_minibatch_until_the_weights_arrive():
    m = OverlapLearner(shards=2)
    play(m, ("begin",), ("weights", 0, 0), ("weights", 1, 0))      # computing on (0, 0), pull out
    assert m.held(1) == ()
    assert m.computed() == (PUSH,) and m.compute_thread is WAITING  # the push still leaves
    assert m.weights(1, 3) == ()                                   # released, but shard 0 has not answered
    assert m.weights(0, 3) == (ADOPT, PULL, COMPUTE) and m.versions == (3, 3)


def test_overlap_hold_arriving_after_the_minibatch_started_stops_the_next_one():
    m = OverlapLearner()
    play(m, ("begin",), ("weights", 0, 0), ("computed",), ("sent",))
    assert m.held(0) == () and m.compute_thread is COMPUTING       # the running minibatch goes on
    assert m.computed() == (PUSH,)
    assert m.weights(0, 1) == (ADOPT, PULL, COMPUTE)


def test_stop_makes_every_later_event_decide_nothing():
    for m in (SerialLearner(), OverlapLearner()):
        play(m, ("begin",), ("weights", 0, 0))
        assert m.stop() == () and m.state is STOPPED
        assert play(m, *[(e,) if e in ("begin", "computed", "sent", "stop") else (e, 0, 1)[:2 + (e == "weights")]
                         for e in EVENTS]) == [()] * len(EVENTS)


# the states each thread can be put in, and how
SERIAL_STATES = {IDLE: [], AWAITING: [("begin",)]}
OVERLAP_STATES = {
    "compute thread": {IDLE: [], WAITING: [("begin",)], COMPUTING: [("begin",), ("weights", 0, 0)],
                       HANDING: [("begin",), ("weights", 0, 0), ("computed",), ("computed",)]},
    "pull thread": {IDLE: [("begin",), ("weights", 0, 0), ("weights", 0, 1)], PULLING: [("begin",)]},
    "push thread": {IDLE: [("begin",), ("weights", 0, 0)], SENDING: [("begin",), ("weights", 0, 0), ("computed",)]},
}
ARGS = {"begin": (), "computed": (), "sent": (), "weights": (0, 5), "held": (0,)}


def _legal(m, event: str) -> bool:
    try:
        m.handle((event, *ARGS[event]))
    except ProtocolError:
        return False
    return True


@pytest.mark.parametrize("state", list(SERIAL_STATES))
@pytest.mark.parametrize("event", [e for e in EVENTS if e != "stop"])  # computed and sent: in no serial entry
def test_serial_table_lists_exactly_the_legal_events(state, event):
    m = SerialLearner()
    play(m, *SERIAL_STATES[state])
    assert m.state is state
    assert _legal(m, event) == ((state, event) in SERIAL_TRANSITIONS)


@pytest.mark.parametrize("event", [e for e in EVENTS if e != "stop"])
def test_overlap_tables_list_exactly_the_legal_events(event):
    thread = JUDGED_BY[event]
    for state, script in OVERLAP_STATES[thread].items():
        m = OverlapLearner()
        play(m, *script)
        assert getattr(m, thread.replace(" ", "_")) is state
        assert _legal(m, event) == ((state, event) in OVERLAP_TRANSITIONS[thread]), (thread, state)


def test_the_architecture_picks_the_machine():
    assert learner_class(ProtocolSpec(architecture="adv*")) is OverlapLearner and OverlapLearner.hears_holds
    m = new_learner(ProtocolSpec(architecture="adv", shards=3))
    assert type(m) is SerialLearner and m.shards == 3


# --- wired to ParameterServers: both machines agree on every interleaving --------------------------------

CASES = [
    dict(name="hardsync", learners=4),
    dict(name="softsync", learners=6, n=2),
    dict(name="async", learners=4, architecture="adv", shards=2),
    dict(name="async", learners=5, max_staleness=2),
    dict(name="async", learners=4, architecture="adv*", shards=2),
    dict(name="async", learners=5, architecture="adv*", max_staleness=1),
    dict(name="softsync", learners=6, n=3, architecture="adv*", max_staleness=2),
]  # max_staleness with shards > 1 is left out: shards that disagree can hold each other's learners for ever


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("spec", CASES, ids=lambda s: "-".join(f"{v}" for v in s.values()))
def test_wired_learners_never_break_the_servers_rules(spec, seed):
    """Random interleavings: no ProtocolError on either side, no deadlock, every push applied once."""
    w = Wired(seed, **spec)
    w.run(300)
    applied = [(a.learner, a.step) for u in w.updates for a in u.gradients]
    assert len(applied) == len(set(applied))
    pushed = sum(m.pushes for m in w.learners)
    assert pushed - len(applied) <= w.spec.learners * 2  # the rest is still on its way or in the buffer
    if spec["name"] == "hardsync":
        assert set(w.staleness()) == {0} and all(len(u.gradients) == spec["learners"] for u in w.updates)


@pytest.mark.parametrize("seed", range(3))
def test_wired_max_staleness_bound_holds_in_base(seed):
    """README: with max_staleness = s, base and adv give σ ≤ s + ⌈(λ−1)/c⌉."""
    w = Wired(seed, name="async", learners=5, max_staleness=2)
    w.run(400)
    assert max(w.staleness()) <= 2 + math.ceil((5 - 1) / 1)


@pytest.mark.parametrize("seed", range(3))
def test_wired_overlap_learner_never_starts_a_minibatch_while_held(seed):
    w = Wired(seed, name="async", learners=5, architecture="adv*", max_staleness=1)
    w.run(400)
    assert w.holds_told and all(holds == 0 for _, _, holds in w.computes)
