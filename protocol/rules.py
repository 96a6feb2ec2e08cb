"""Protocol variants as small rule objects: what differs between protocols lives in one object each.

ParameterServer keeps what every protocol shares (versions, the gradient
buffer, learner states, the LR policy) and asks its rule object the questions
on which protocols differ:

    c / resize(present)         gradients per update for the learners present
    pushed(learner, buffered)   a gradient was buffered: is an update due now?
    due(buffered)               (after a leave) is an update due now?
    left(learner)               a learner left: decisions that adds (hardsync: BarrierShrunk)
When pushed or due answers yes, the update follows at once, so a protocol
that keeps rounds starts the next one there (no per-update call: under async
every gradient is an update).

A protocol that may hold pulls is also a gate; so is the max_staleness bound,
which any softsync or async run may add. A gate answers

    reason                      why it holds a pull ("barrier", "staleness")
    closed(learner, version)    must this learner's pull wait now?
    opened(version)             may every held pull be granted now? (all or none)
A gate opens only when an update is applied, an in-flight gradient lands or a
learner leaves, so the server asks `opened` only then.

A new protocol is one new class here and its name in RULES.
"""
from __future__ import annotations

from .events import BarrierShrunk
from .spec import ProtocolSpec


class Softsync:
    """n-softsync (async is λ-softsync): an update as soon as c = max(1, ⌊λ_present/n⌋) gradients are
    buffered, from any learners; it never holds a pull itself."""

    __slots__ = ("n", "c", "present")
    reason = None

    def __init__(self, n: int, present: int):
        self.n = n
        self.resize(present)

    def resize(self, present: int) -> None:
        self.present, self.c = present, max(1, present // self.n)

    def pushed(self, learner: int, buffered: int) -> bool:
        return buffered >= self.c

    def due(self, buffered: int) -> bool:
        return buffered >= self.c

    def left(self, learner: int) -> list:
        return []


class Hardsync:
    """One gradient from every present learner, all on the current version, then one update; a learner
    that pushed this round has its pull held ("barrier") until the update; a leave shrinks the barrier."""

    __slots__ = ("c", "present", "round")
    reason = "barrier"

    def __init__(self, present: int):
        self.round: set[int] = set()  # present learners that pushed this round
        self.resize(present)

    def resize(self, present: int) -> None:
        self.present, self.c = present, max(1, present)

    def pushed(self, learner: int, buffered: int) -> bool:
        done = self.round
        done.add(learner)
        if len(done) == self.present:
            done.clear()  # the update completes this round
            return True
        return False

    def due(self, buffered: int) -> bool:
        if buffered and len(self.round) == self.present:
            self.round.clear()  # the update completes this round
            return True
        return False

    def left(self, learner: int) -> list:
        self.round.discard(learner)
        return [BarrierShrunk(learner, self.present)]

    def closed(self, learner: int, version: int) -> bool:
        return learner in self.round

    def opened(self, version: int) -> bool:
        return not self.round


class StalenessBound:
    """max_staleness = s (SSP-style): a pull waits while some in-flight gradient (weights sent, gradient not
    yet pushed) was computed on a version ≤ i − s. The in-flight versions are a counted multiset whose
    minimum only moves forward (grants are always of the newest version), so every check is O(1) amortised."""

    __slots__ = ("bound", "inflight", "count", "oldest")
    reason = "staleness"

    def __init__(self, bound: int, version: int = 0):
        self.bound = bound
        self.inflight: dict[int, int] = {}  # learner -> version it was last sent, until it pushes on it
        self.count: dict[int, int] = {}     # version -> learners computing on it
        self.oldest = version

    def granted(self, learner: int, version: int) -> None:
        """The learner was sent `version` (replacing what it held in flight)."""
        if learner in self.inflight:
            self.settle(learner)
        self.inflight[learner] = version
        self.count[version] = self.count.get(version, 0) + 1

    def settle(self, learner: int) -> None:
        """The learner has nothing in flight any more (it pushed on what it was sent, or it left)."""
        v = self.inflight.pop(learner, None)
        if v is None:
            return
        left = self.count[v] - 1
        if left:
            self.count[v] = left
        else:
            del self.count[v]

    def closed(self, learner: int, version: int) -> bool:
        counts = self.count
        if not counts:
            return False
        while self.oldest not in counts:
            self.oldest += 1
        return version - self.oldest >= self.bound

    def opened(self, version: int) -> bool:
        return not self.closed(-1, version)


RULES = {"hardsync": lambda spec: Hardsync(spec.learners),
         "softsync": lambda spec: Softsync(spec.softness, spec.learners),
         "async": lambda spec: Softsync(spec.softness, spec.learners)}


def rules_for(spec: ProtocolSpec) -> Softsync | Hardsync:
    """The rule object of the spec's protocol, sized for all λ learners present."""
    return RULES[spec.name](spec)
