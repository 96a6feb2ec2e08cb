"""Protocol and training settings: the `[protocol]` and `[train]` sections.

Plain frozen dataclasses. Constraints live in each field's metadata so that
rudra/config.py can validate any section the same way (see CONSTRAINTS below);
cross-field rules live in `invalid()`, which names the first bad field.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from .lr import LrSchedule

# Field metadata understood by rudra/config.py (every layer's specs use it):
#   doc      one line shown by `rudra check --explain` and in error messages
#   choices  the allowed values
#   min/max  inclusive bounds;  gt: exclusive lower bound
#   each     for tuples: constraints applied to every item (a dict of the above)
Violation = tuple[str, object, str]  # (field, value, what is allowed), as `invalid()` returns it


def first_problem(checks: Iterable[tuple[str, Violation | None]]) -> str | None:
    """The one-line message for the first (section, violation) that is not None:
    `section.field = value: allowed ...`, the form every layer reports a bad setting in."""
    for section, bad in checks:
        if bad is not None:
            field_, value, allowed = bad
            value = list(value) if isinstance(value, tuple) else value
            return f"{section}.{field_} = {value!r}: allowed {allowed}"
    return None


PROTOCOLS = ("hardsync", "softsync", "async")
LR_POLICIES = ("constant", "mean-staleness", "per-gradient")
ARCHITECTURES = ("base", "adv", "adv*")
# The simulator holds about 1.1 KB per learner (10**6 learners: 1.1 GB, measured); `rudra train` also checks
# λ against the machine it runs on.
MAX_LEARNERS = 1_000_000
MAX_SHARDS = 1024
# [protocol] settings that only some protocols read; the others must leave them out.
READ_ONLY_BY = {"n": ("softsync",), "max_staleness": ("softsync", "async")}


def unread_settings(name: str) -> tuple[str, ...]:
    """The [protocol] settings protocol `name` does not read (a sweep across protocols leaves them out)."""
    return tuple(key for key, readers in READ_ONLY_BY.items() if name not in readers)


@dataclass(frozen=True)
class ProtocolSpec:
    """How the parameter server synchronizes λ learners (docs/DESIGN.md, Protocols)."""

    name: str = field(default="async", metadata={"choices": PROTOCOLS, "doc": "synchronization protocol"})
    learners: int = field(default=4, metadata={"min": 1, "max": MAX_LEARNERS, "doc": "λ, number of learners"})
    n: int | None = field(default=None, metadata={"min": 1, "doc": "softness of n-softsync (softsync only)"})
    lr_policy: str = field(default="constant", metadata={"choices": LR_POLICIES, "doc": "learning-rate modulation"})
    max_staleness: int | None = field(
        default=None, metadata={"min": 1, "doc": "SSP-style bound: hold pulls while an in-flight gradient is this stale"})
    architecture: str = field(default="base", metadata={"choices": ARCHITECTURES, "doc": "Rudra-base, -adv or -adv*"})
    shards: int = field(default=1, metadata={"min": 1, "max": MAX_SHARDS, "doc": "parameter-server shards (adv, adv*)"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        if self.name == "softsync" and self.n is None:
            return "n", "(missing)", f"softsync needs an integer 1 <= n <= learners ({self.learners})"
        for key in unread_settings(self.name):
            if (value := getattr(self, key)) is not None:
                return key, value, (f"no {key} with {self.name}: it is read by "
                                    f"{' and '.join(READ_ONLY_BY[key])} only")
        if self.n is not None and self.n > self.learners:
            return "n", self.n, f"1 <= n <= learners ({self.learners})"
        if self.architecture == "adv*" and self.name == "hardsync":
            return "architecture", self.architecture, ("'base' or 'adv' with hardsync (its barrier leaves adv* "
                                                       "nothing to overlap); adv* takes softsync or async")
        if self.max_staleness is not None and self.shards > 1:
            # each shard keeps its own bound, and two shards can hold two learners crosswise for ever
            return "max_staleness", self.max_staleness, ("left out with shards > 1 (each shard would keep its own "
                                                         "bound and two shards could hold each other's learners)")
        if self.shards > 1 and self.architecture == "base":
            return "shards", self.shards, "1 with architecture 'base'; use 'adv' or 'adv*' for shards"
        return None

    @property
    def softness(self) -> int:
        """The effective n: λ for async, 1 for hardsync (one update per λ gradients)."""
        if self.name == "async":
            return self.learners
        return self.n if self.n is not None else 1


@dataclass(frozen=True)
class TrainSpec:
    """Optimizer and schedule settings shared by the server (real or simulated)."""

    minibatch: int = field(default=32, metadata={"min": 1, "doc": "μ, samples per gradient per learner"})
    lr: float = field(default=0.1, metadata={"gt": 0.0, "doc": "α₀, base learning rate"})
    momentum: float = field(default=0.9, metadata={"min": 0.0, "max": 0.999, "doc": "server SGD momentum"})
    weight_decay: float = field(default=0.0, metadata={"min": 0.0, "doc": "server SGD weight decay"})
    epochs: float = field(default=10.0, metadata={"gt": 0.0, "doc": "training length in epochs"})
    lr_steps: tuple[float, ...] = field(
        default=(), metadata={"each": {"gt": 0.0}, "doc": "epochs at which the learning rate is multiplied by lr_gamma"})
    lr_gamma: float = field(default=0.1, metadata={"gt": 0.0, "max": 1.0, "doc": "learning-rate step factor"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        if list(self.lr_steps) != sorted(set(self.lr_steps)):
            return "lr_steps", list(self.lr_steps), "strictly increasing epochs"
        return None

    # An epoch is every training sample consumed once across all learners: N/μ gradients.
    # Both drivers take the run's length and schedule from here.

    def gradients_per_epoch(self, train_samples: int) -> float:
        """N/μ gradients make one epoch."""
        return train_samples / self.minibatch

    def target_gradients(self, train_samples: int) -> int:
        """Gradients to apply before `epochs` are done."""
        return math.ceil(self.epochs * self.gradients_per_epoch(train_samples) - 1e-9)

    def schedule(self, train_samples: int) -> LrSchedule:
        """The server's learning rate: lr, times lr_gamma at each epoch in lr_steps."""
        return LrSchedule(base=self.lr, steps=self.lr_steps, gamma=self.lr_gamma,
                          gradients_per_epoch=self.gradients_per_epoch(train_samples))
