"""Wire one ParameterServer to λ scripted learners, in memory (after h11's test helper).

A learner here is just what it holds: the version it was sent, or None while
its pull is held. `cycle(l)` plays one push-then-pull of learner l; the
harness records every decision so tests can assert on the log.
"""
from __future__ import annotations

from rudra.protocol import Hold, LrSchedule, ParameterServer, ProtocolSpec, Send, Update


class Cluster:
    """A server plus the versions its learners hold; every decision is logged."""

    def __init__(self, schedule: LrSchedule | None = None, **spec):
        self.server = ParameterServer(ProtocolSpec(**spec), schedule)
        self.holding: dict[int, int | None] = {}
        self.updates: list[Update] = []
        self.holds: list[Hold] = []
        self.log: list = []

    def _take(self, decisions: list) -> list:
        for d in decisions:
            self.log.append(d)
            if type(d) is Send:
                self.holding[d.learner] = d.version
            elif type(d) is Update:
                self.updates.append(d)
            elif type(d) is Hold:
                self.holding[d.learner] = None
                self.holds.append(d)
        return decisions

    def pull(self, learner: int) -> list:
        return self._take(self.server.pull(learner))

    def push(self, learner: int, gradient=None) -> list:
        return self._take(self.server.push(learner, self.holding[learner], gradient))

    def leave(self, learner: int) -> list:
        self.holding.pop(learner, None)
        return self._take(self.server.leave(learner))

    def join(self, learner: int) -> list:
        return self._take(self.server.join(learner))

    def start(self) -> None:
        """Every learner pulls once."""
        for l in range(self.server.spec.learners):
            self.pull(l)

    def cycle(self, learner: int, gradient=None) -> None:
        """Learner pushes what it computed, then pulls again (possibly getting held)."""
        self.push(learner, gradient)
        self.pull(learner)

    def round_robin(self, gradients: int) -> None:
        """Homogeneous learners: pushes arrive in a fixed rotation."""
        lam = self.server.spec.learners
        self.start()
        for k in range(gradients):
            self.cycle(k % lam, k)

    def staleness(self) -> list[int]:
        return [a.staleness for u in self.updates for a in u.gradients]
