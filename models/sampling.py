"""Each learner's own seeded stream of minibatch indices, resumable from a JSON-able state.

mode "whole" (the paper's): every learner walks the whole training set, one
fresh random permutation per pass, its own order. mode "shard": a seeded
permutation splits the set into λ disjoint shards and each learner walks only
its own, so together the learners cover every sample once per epoch.
A learner's pass over its data is cut into minibatches of μ; a minibatch that
runs off the end of a pass continues into the next one. An epoch is N/μ
gradients across all learners (docs/DESIGN.md). Torch-free.
"""
from __future__ import annotations

import numpy as np

MODES = ("whole", "shard")
# Tags keep the two seed streams apart (numpy seeds [a, b] and [a, b, 0] collide, so lengths are fixed too).
_SPLIT, _ORDER = 0, 1


class LearnerStream:
    """The minibatch index stream of learner `learner` of `learners`; deterministic per seed.

    `pool` holds the sample indices this learner draws from (all of them, or its shard).
    """

    def __init__(self, n_samples: int, learner: int, learners: int, minibatch: int, seed: int,
                 mode: str = "whole", passes: int = 0, offset: int = 0):
        if mode not in MODES:
            raise ValueError(f"sampling mode {mode!r}: expected one of {', '.join(MODES)}")
        if not 0 <= learner < learners:
            raise ValueError(f"learner {learner}: expected 0 <= learner < learners ({learners})")
        if mode == "shard" and learners > n_samples:
            raise ValueError(f"shard sampling needs at least one sample per learner: {n_samples} < {learners}")
        if minibatch < 1:
            raise ValueError(f"minibatch {minibatch}: expected >= 1")
        self.n_samples, self.learner, self.learners = n_samples, learner, learners
        self.minibatch, self.seed, self.mode = minibatch, seed, mode
        if mode == "shard":
            shards = np.array_split(np.random.default_rng([seed, _SPLIT, learners, 0]).permutation(n_samples), learners)
            self.pool = shards[learner]
        else:
            self.pool = np.arange(n_samples)
        self.passes, self.offset = passes, offset
        self._order = self._pass_order(passes)

    def _pass_order(self, passes: int) -> np.ndarray:
        """This learner's sample order in pass number `passes`, a function of (seed, learner, passes) only."""
        rng = np.random.default_rng([self.seed, _ORDER, self.learner, passes])
        return self.pool[rng.permutation(len(self.pool))]

    def next_indices(self) -> np.ndarray:
        """The next μ training-sample indices of this learner (int64)."""
        parts, need = [], self.minibatch
        while need:
            take = self._order[self.offset:self.offset + need]
            parts.append(take)
            need -= len(take)
            self.offset += len(take)
            if self.offset == len(self._order):
                self.passes, self.offset = self.passes + 1, 0
                self._order = self._pass_order(self.passes)
        return np.concatenate(parts).astype(np.int64)

    def state(self) -> dict:
        """Everything needed to resume this stream exactly: plain ints and strings, JSON-able."""
        return {"n_samples": self.n_samples, "learner": self.learner, "learners": self.learners,
                "minibatch": self.minibatch, "seed": self.seed, "mode": self.mode,
                "passes": self.passes, "offset": self.offset}

    @classmethod
    def from_state(cls, state: dict) -> "LearnerStream":
        """The stream `state()` described, positioned where it was."""
        return cls(**state)
