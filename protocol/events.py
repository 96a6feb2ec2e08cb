"""Events into and decisions out of the parameter-server state machine.

Events are what a driver observed (a message arrived, a learner joined or
vanished); decisions are what the server must now do. Events are frozen
records; decisions are plain slotted records, read-only by convention, since
one or more is built per gradient and a frozen dataclass costs 4× as much to
construct. Gradients are opaque handles the machine never looks inside.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ProtocolError(Exception):
    """An event the protocol cannot accept; the machine's state is unchanged."""


# --- events -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Pull:
    """Learner `learner` asks for the current weights."""

    learner: int


@dataclass(frozen=True, slots=True)
class Push:
    """Learner `learner` sends `gradient`, computed on weights of `pulled_version`."""

    learner: int
    pulled_version: int
    gradient: Any = None


@dataclass(frozen=True, slots=True)
class Join:
    """A learner (new, or one that left earlier) joins the run."""

    learner: int


@dataclass(frozen=True, slots=True)
class Leave:
    """A learner left or died; it will send nothing more."""

    learner: int


Event = Pull | Push | Join | Leave


# --- decisions ----------------------------------------------------------------

@dataclass(slots=True)
class Send:
    """Send the weights of `version` (the current one) to `learner` now."""

    learner: int
    version: int


@dataclass(slots=True)
class Hold:
    """Do not answer `learner`'s pull yet; a later `Send` releases it.

    reason is "barrier" (hardsync round not complete) or "staleness"
    (max_staleness would be exceeded).
    """

    learner: int
    reason: str


@dataclass(slots=True)
class Applied:
    """One gradient inside an update: θ gets −lr · scale · gradient."""

    learner: int
    step: int
    pulled_version: int
    staleness: int
    scale: float
    gradient: Any


@dataclass(slots=True)
class Update:
    """Apply θ ← θ − lr · Σ scale_k g_k (through the server optimizer); weights become `version`."""

    version: int
    lr: float
    gradients: tuple[Applied, ...]


@dataclass(slots=True)
class BarrierShrunk:
    """Hardsync only: a learner left, the barrier now waits for `barrier` learners."""

    learner: int
    barrier: int


Decision = Send | Hold | Update | BarrierShrunk
