"""The parameter-server state machine: events in, decisions out (sans-I/O).

Theory of operation
-------------------
The machine holds the version counter i (0 at start, +1 per applied update),
a buffer of received gradients, and one state per learner:

    IDLE       present, owes no gradient (has not pulled, or pushed since)
    COMPUTING  holds weights of version `sent[l]`; a push is expected
    HELD       asked for weights; the answer waits (barrier or staleness bound)
    GONE       left; only a Join brings it back

`LEARNER_TRANSITIONS` (base, adv) and `OVERLAP_TRANSITIONS` (adv*, where a
learner's push and pull threads run independently) list every legal
(state, event) pair and the state it leads to; anything else is a
ProtocolError and leaves the machine exactly as it was. Every event is
checked completely before any state changes.

Guarantees, for every sequence of legal events:
  * each pushed gradient appears in exactly one Update, at a staleness
    σ = i − j ≥ 0 (i: version it is applied to, j: version it was computed on);
    a learner that leaves does not lose its pushed gradients;
  * versions rise by exactly one per Update;
  * hardsync: one Update per round, after one gradient from every present
    learner, all with σ = 0; pulls from learners that already pushed this
    round are held until the Update; a Leave shrinks the barrier;
  * n-softsync: an Update as soon as c = max(1, ⌊λ_present/n⌋) gradients
    are buffered, from any learners; no pull is ever held unless
    max_staleness is set;
  * max_staleness = s: a pull is held while some in-flight gradient (weights
    sent, gradient not yet pushed) was computed on a version ≤ i − s, and
    released as soon as that is no longer so.
What differs between protocols (batch size, when an update is due, which pulls
wait) is asked of a rule object (protocol/rules.py); this module holds what
they share. Per-event work is O(1) amortised: releases and buffers are paid
for by the pulls and pushes that created them.
"""
from __future__ import annotations

from collections import deque
from typing import NoReturn

from .events import (Applied, Hold, Join, Leave, ProtocolError, Pull, Push, Send, Update)
from .lr import LrSchedule, make_policy
from .rules import StalenessBound, rules_for
from .spec import ProtocolSpec, first_problem

IDLE, COMPUTING, HELD, GONE = "IDLE", "COMPUTING", "HELD", "GONE"

# (learner state, event) -> state after it; pulls may end HELD instead (decided by the protocol).
LEARNER_TRANSITIONS = {
    (IDLE, Pull): COMPUTING,
    (COMPUTING, Push): IDLE,
    (IDLE, Leave): GONE,
    (COMPUTING, Leave): GONE,
    (HELD, Leave): GONE,
    (GONE, Join): IDLE,
}
OVERLAP_TRANSITIONS = {
    (IDLE, Pull): COMPUTING,
    (COMPUTING, Pull): COMPUTING,  # the pull thread fetches newer weights mid-compute
    (COMPUTING, Push): COMPUTING,  # the learner keeps computing on what it holds
    (HELD, Push): HELD,
    (IDLE, Leave): GONE,
    (COMPUTING, Leave): GONE,
    (HELD, Leave): GONE,
    (GONE, Join): IDLE,
}
_WHY = {
    (IDLE, Push): "push without a pull",
    (HELD, Push): "push while its pull is held",
    (HELD, Pull): "pull while an earlier pull is held",
    (COMPUTING, Pull): "pull before pushing the gradient it owes (only adv* overlaps them)",
    (GONE, Pull): "pull from a learner that left",
    (GONE, Push): "push from a learner that left",
    (GONE, Leave): "learner already left",
    (IDLE, Join): "join of a learner already present",
    (COMPUTING, Join): "join of a learner already present",
    (HELD, Join): "join of a learner already present",
}


class _Learner:
    """What the server knows of one learner: state, last version sent, last version pushed on, pushes."""

    __slots__ = ("state", "sent", "floor", "steps")

    def __init__(self, state: str = IDLE):
        self.state = state
        self.sent: int | None = None
        self.floor = 0
        self.steps = 0


class ParameterServer:
    """One protocol instance (one per shard): feed it events, carry out its decisions."""

    def __init__(self, spec: ProtocolSpec, schedule: LrSchedule | None = None):
        problem = first_problem([("protocol", spec.invalid())])
        if problem:
            raise ValueError(problem)
        self.spec = spec
        self.version = 0
        self.gradients_applied = 0
        self.schedule = schedule or LrSchedule(base=1.0)
        self._lr, self._lr_until = 0.0, 0  # the policy's rate, valid below _lr_until gradients applied
        self._rules = rules_for(spec)
        self._bound = None if spec.max_staleness is None else StalenessBound(spec.max_staleness)
        # the gates a pull must pass (the protocol's own, then the bound): () for plain softsync and async
        self._gates = tuple(g for g in (self._rules, self._bound) if g is not None and g.reason is not None)
        self._policy = make_policy(spec.lr_policy, spec.softness)
        self._overlap = spec.architecture == "adv*"
        table = OVERLAP_TRANSITIONS if self._overlap else LEARNER_TRANSITIONS
        # the same table, indexed by event first: one dict lookup per event on the hot path
        self._after: dict[type, dict[str, str]] = {e: {s: n for (s, ev), n in table.items() if ev is e}
                                                   for e in (Pull, Push, Join, Leave)}
        self._after_pull, self._after_push = self._after[Pull], self._after[Push]
        self._learners: dict[int, _Learner] = {l: _Learner() for l in range(spec.learners)}
        self._buffer: list[tuple[int, int, int, object]] = []  # (learner, step, j, gradient)
        self._held: deque[int] = deque()

    # --- queries ---------------------------------------------------------------

    @property
    def c(self) -> int:
        """Gradients per update right now (λ_present for hardsync, ⌊λ_present/n⌋ for softsync)."""
        return self._rules.c

    @property
    def present(self) -> int:
        """Learners currently present."""
        return self._rules.present

    def learners(self) -> list[int]:
        """Ids of the learners present now (O(λ): for drivers and tests, not the hot path)."""
        return [l for l, r in self._learners.items() if r.state != GONE]

    def state(self, learner: int) -> str:
        """The learner's state name (IDLE, COMPUTING, HELD or GONE)."""
        rec = self._learners.get(learner)
        return GONE if rec is None else rec.state

    @property
    def buffered(self) -> int:
        """Gradients received but not yet applied."""
        return len(self._buffer)

    def restore(self, version: int, gradients_applied: int, steps: list[int]) -> None:
        """Continue a checkpointed run on a fresh machine: its version, gradients applied so far, and
        how many gradients each learner 0..λ−1 had pushed (so `Applied.step` goes on counting)."""
        if self.version or self.gradients_applied or self._buffer or len(steps) != self.spec.learners:
            raise ProtocolError(f"restore needs a fresh machine and {self.spec.learners} step counts")
        self.version = version
        if self._bound is not None:
            self._bound.oldest = version
        self.gradients_applied = gradients_applied
        for learner, n in enumerate(steps):
            self._learners[learner].steps = n

    # --- events ------------------------------------------------------------------

    def handle(self, event) -> list:
        """Dispatch one event object (Pull, Push, Join or Leave) to its handler."""
        if type(event) is Push:
            return self.push(event.learner, event.pulled_version, event.gradient)
        return _DISPATCH[type(event)](self, event.learner)

    def _next(self, learner: int, event: type) -> tuple[_Learner, str]:
        """The learner's record and the state the event leads to; ProtocolError if illegal."""
        rec = self._learners.get(learner)
        if rec is None and event is Join:
            if learner < 0:  # ids index the trace's per-learner counts
                raise ProtocolError(f"join of learner {learner}: learner ids are >= 0")
            return _Learner(GONE), IDLE
        nxt = None if rec is None else self._after[event].get(rec.state)
        if nxt is None:
            self._refuse(learner, event)
        return rec, nxt

    def _refuse(self, learner: int, event: type) -> NoReturn:
        """Raise the ProtocolError that says why `event` is illegal for the learner now (slow path)."""
        rec = self._learners.get(learner)
        if rec is None:
            raise ProtocolError(f"unknown learner {learner}")
        why = _WHY.get((rec.state, event), f"{event.__name__} not allowed in state {rec.state}")
        raise ProtocolError(f"learner {learner}: {why}")

    def _refuse_push(self, learner: int, j: int) -> NoReturn:
        """Raise the ProtocolError for an illegal push, checks in order: state, version, weights held."""
        rec = self._learners.get(learner)
        if rec is None or rec.state not in self._after_push:
            self._refuse(learner, Push)
        if j > self.version or j < 0:
            raise ProtocolError(f"learner {learner}: gradient on version {j}, which the server never had "
                                f"(current version {self.version})")
        sent = rec.sent
        if sent is None:
            raise ProtocolError(f"learner {learner}: push without a pull")
        lowest = rec.floor if self._overlap else sent
        raise ProtocolError(f"learner {learner}: gradient on version {j}, but it holds version {sent}"
                            + (f" and pushed on version {lowest} already" if self._overlap else ""))

    def pull(self, learner: int) -> list:
        """Learner asks for weights: Send now, or Hold."""
        try:  # indexing, not .get(): two method calls fewer per event on the drivers' hot path
            rec = self._learners[learner]
            nxt = self._after_pull[rec.state]
        except KeyError:  # an unknown learner, or a state no pull leaves
            nxt = None
        if nxt is None:
            self._refuse(learner, Pull)
        for gate in self._gates:
            if gate.closed(learner, self.version):
                return self._hold(learner, rec, gate.reason)
        rec.state = nxt
        return [self._grant(learner, rec)]

    def push(self, learner: int, pulled_version: int, gradient=None) -> list:
        """A gradient arrives; returns an Update when the protocol says so (plus releases)."""
        try:  # as in pull
            rec = self._learners[learner]
            nxt = self._after_push[rec.state]
        except KeyError:
            nxt = None
        j = pulled_version
        # legal iff the state allows a push and floor ≤ j ≤ sent (adv*) or j = sent; sent ≤ version always
        if nxt is None or rec.sent is None or not (rec.floor if self._overlap else rec.sent) <= j <= rec.sent:
            self._refuse_push(learner, j)
        rec.state = nxt
        rec.floor = j
        buffer = self._buffer
        buffer.append((learner, rec.steps, j, gradient))
        rec.steps += 1
        landed = False
        bound = self._bound
        if bound is not None and bound.inflight.get(learner) == j:  # its in-flight gradient landed
            bound.settle(learner)
            landed = True
        out = [self._update()] if self._rules.pushed(learner, len(buffer)) else []
        if self._held and (out or landed):  # no gate opens on a push that neither updates nor lands
            self._release(out)
        return out

    def join(self, learner: int) -> list:
        """A learner (re)joins; in hardsync it is part of the current round's barrier."""
        rec, nxt = self._next(learner, Join)
        rec.state, rec.sent, rec.floor = nxt, None, 0
        self._learners[learner] = rec
        self._rules.resize(self._rules.present + 1)
        return []

    def leave(self, learner: int) -> list:
        """A learner is gone: its pushed gradients stay; softsync's c and hardsync's barrier shrink."""
        rec, nxt = self._next(learner, Leave)
        if rec.state == HELD:
            self._held.remove(learner)
        rec.state = nxt
        rules = self._rules
        rules.resize(rules.present - 1)
        out = rules.left(learner)
        if self._bound is not None:
            self._bound.settle(learner)
        if rules.due(len(self._buffer)):
            out.append(self._update())
        if self._held:
            self._release(out)
        return out

    # --- protocol rules ------------------------------------------------------------

    def _update(self) -> Update:
        i, buffer, policy = self.version, self._buffer, self._policy
        c, scale = len(buffer), policy.scale
        applied = []  # a loop, not a comprehension: Python 3.11 gives each comprehension its own frame
        for l, step, j, g in buffer:
            applied.append(Applied(l, step, j, i - j, scale(i - j, c), g))
        self._buffer = []
        self.version = i + 1
        done = self.gradients_applied
        if done >= self._lr_until:
            self._lr, self._lr_until = policy.lr(self.schedule.at(done)), self.schedule.holds_until(done)
        self.gradients_applied = done + c
        return Update(self.version, self._lr, tuple(applied))

    def _grant(self, learner: int, rec: _Learner) -> Send:
        v = self.version
        rec.sent = v
        if self._bound is not None:
            self._bound.granted(learner, v)
        return Send(learner, v)

    def _hold(self, learner: int, rec: _Learner, reason: str) -> list:
        rec.state = HELD
        self._held.append(learner)
        return [Hold(learner, reason)]

    def _release(self, out: list) -> None:
        """Answer held pulls that may now be served (all or none: every gate's condition is global)."""
        for gate in self._gates:
            if not gate.opened(self.version):
                return
        held, self._held = self._held, deque()
        for learner in held:
            rec = self._learners[learner]
            rec.state = COMPUTING
            out.append(self._grant(learner, rec))


_DISPATCH = {Pull: ParameterServer.pull, Join: ParameterServer.join, Leave: ParameterServer.leave}


def inbox_slots(senders: int, kept: int) -> int:
    """How many messages a shard holds received and not yet done with: one being received and one waiting per
    sender, plus the `kept` gradients the protocol buffers until an update (c). A further message is received,
    and its sender's send returns, only once one is free: the flow control both drivers obey."""
    return 2 * senders + kept
