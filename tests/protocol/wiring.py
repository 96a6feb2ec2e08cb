"""λ learner machines wired to S ParameterServers in memory, in a seeded random order (after h11's helper
that wires a client to a server).

Each learner has one FIFO link to each shard and back, so a learner's messages
keep their order; anything else (which link moves next, when a compute or a
push finishes) is drawn at random, so one run explores one interleaving that
timing could produce. The machines alone decide what the learners do: a Hold
reaches a learner only if its machine hears holds.
"""
from __future__ import annotations

import random
from collections import deque

from rudra.protocol import Hold, ParameterServer, ProtocolSpec, Send, Update
from rudra.protocol.learner import ADOPT, COMPUTE, PULL, PUSH, PUSH_PULL, new_learner


class Wired:
    """Run `gradients` pushes through the wiring; the logs tell what each side decided."""

    def __init__(self, seed: int = 0, **spec):
        self.spec = ProtocolSpec(**spec)
        self.rng = random.Random(seed)
        lam, shards = self.spec.learners, self.spec.shards
        self.servers = [ParameterServer(self.spec) for _ in range(shards)]
        self.learners = [new_learner(self.spec) for _ in range(lam)]
        self.up = [[deque() for _ in range(shards)] for _ in range(lam)]    # (kind, versions) to a shard
        self.down = [[deque() for _ in range(shards)] for _ in range(lam)]  # ("weights", v) or ("held",)
        self.computing: set[int] = set()
        self.unsent: list[int] = [0] * lam  # shards the push in flight has still to reach
        self.updates: list[Update] = []     # shard 0's
        self.computes: list[tuple[int, tuple, int]] = []  # (learner, versions, holds when it started)
        self.pushes = 0
        self.holds_told = 0

    def run(self, gradients: int) -> None:
        for l, m in enumerate(self.learners):
            self._act(l, m.begin())
        while self.pushes < gradients:
            moves = [("compute", l) for l in self.computing]
            moves += [("up", l, s) for l in range(len(self.up)) for s, q in enumerate(self.up[l]) if q]
            moves += [("down", l, s) for l in range(len(self.down)) for s, q in enumerate(self.down[l]) if q]
            assert moves, "deadlock: nothing can move"
            self._move(self.rng.choice(moves))

    def _move(self, move: tuple) -> None:
        kind, l = move[0], move[1]
        m = self.learners[l]
        if kind == "compute":
            self.computing.discard(l)
            self._act(l, m.computed())
        elif kind == "down":
            what = self.down[l][move[2]].popleft()
            self._act(l, m.weights(move[2], what[1]) if what[0] == "weights" else m.held(move[2]))
        else:
            s = move[2]
            what, j = self.up[l][s].popleft()
            server = self.servers[s]
            if what in (PUSH, PUSH_PULL):
                self._serve(s, server.push(l, j))
            if what in (PULL, PUSH_PULL):
                self._serve(s, server.pull(l))
            if what == PUSH:
                self.unsent[l] -= 1
                if not self.unsent[l]:  # the push left on every link: the push thread is free
                    self._act(l, m.sent())

    def _serve(self, s: int, decisions: list) -> None:
        for d in decisions:
            if type(d) is Send:
                self.down[d.learner][s].append(("weights", d.version))
            elif type(d) is Hold and self.learners[d.learner].hears_holds:
                self.down[d.learner][s].append(("held",))
                self.holds_told += 1
            elif type(d) is Update and s == 0:
                self.updates.append(d)

    def _act(self, l: int, decisions: tuple) -> None:
        m = self.learners[l]
        for d in decisions:
            if d in (PUSH, PUSH_PULL):
                self.pushes += 1
                for s, q in enumerate(self.up[l]):
                    q.append((d, m.pushed[s]))
                if d == PUSH:
                    self.unsent[l] = len(self.up[l])
            elif d == PULL:
                for q in self.up[l]:
                    q.append((PULL, None))
            elif d == COMPUTE:
                self.computes.append((l, m.versions, m.holds))
                if PUSH_PULL not in decisions:  # serial: its push follows at once (the links' order is random)
                    self.computing.add(l)
            else:
                assert d == ADOPT

    def staleness(self) -> list[int]:
        return [a.staleness for u in self.updates for a in u.gradients]
