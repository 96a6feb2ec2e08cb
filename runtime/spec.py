"""Real-training launch settings: the `[runtime]` section.

A plain frozen dataclass following protocol/spec.py: constraints live in each
field's metadata (doc, choices, min/max, gt, each) and rudra/config.py checks
them generically; cross-field rules live in `invalid()`. λ, architecture and
shards are `[protocol]` settings; μ, lr and epochs are `[train]` settings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rudra.protocol.spec import ProtocolSpec

BACKENDS = ("gloo",)
LOSS_POLICIES = ("stop", "shrink")
TRACE_DETAILS = ("full", "summary")
FAULTS = ("learner-exit", "learner-hang", "server-exit")
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class RuntimeSpec:
    """How `rudra train` runs the server(s) and learners (runtime/launch.py)."""

    device: str = field(
        default="cpu", metadata={"doc": "where learners (and numerics mode) compute: cpu, cuda or cuda:N "
                                "(messages stay on gloo)"})
    backend: str = field(
        default="gloo", metadata={"choices": BACKENDS,
                                  "doc": "torch.distributed backend (NCCL cannot receive from any source)"})
    threads: int = field(default=1, metadata={"min": 1, "doc": "torch CPU threads per process"})
    timeout: float = field(
        default=60.0, metadata={"gt": 0.0, "doc": "seconds a learner may stay silent before it counts as dead; "
                                                  "learners give up on a silent server after twice this"})
    checkpoint_every: int = field(
        default=0, metadata={"min": 0, "doc": "write a checkpoint every K updates, and at the end (0 = never)"})
    eval_every: float = field(
        default=1.0, metadata={"gt": 0.0, "doc": "epochs between test-set evaluations of the server's weights"})
    on_learner_loss: str = field(
        default="stop", metadata={"choices": LOSS_POLICIES,
                                  "doc": "hardsync when a learner dies: stop the run, or shrink the barrier"})
    trace: str = field(
        default="full", metadata={"choices": TRACE_DETAILS, "doc": "full: one row per gradient; summary: updates only"})
    port: int = field(
        default=0, metadata={"min": 0, "max": 65535,
                             "doc": "local runs: rendezvous port on 127.0.0.1 (0 = a free one)"})
    server_ranks: tuple[int, ...] = field(
        default=(), metadata={"each": {"min": 0},
                              "doc": "global ranks of the shard servers, shard order; () = the first `shards` ranks"})
    fault: str | None = field(
        default=None, metadata={"choices": FAULTS, "doc": "fault injection for tests: make one process exit or hang"})
    fault_target: int = field(
        default=0, metadata={"min": 0, "doc": "fault: the learner index (learner-*) or shard index (server-exit)"})
    fault_after: int = field(
        default=3, metadata={"min": 0, "doc": "fault: after this many gradients pushed (learner) or updates (server)"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        if not _DEVICE.fullmatch(self.device):
            return "device", self.device, "cpu, cuda or cuda:N"
        if len(set(self.server_ranks)) != len(self.server_ranks):
            return "server_ranks", list(self.server_ranks), "distinct ranks"
        if self.fault is None:
            for name in ("fault_target", "fault_after"):
                value = getattr(self, name)
                if value != self.__dataclass_fields__[name].default:
                    return name, value, "left out without a fault"
        return None

    def invalid_with(self, protocol: ProtocolSpec) -> tuple[str, object, str] | None:
        """The first violation of a rule that needs `[protocol]` too, as (field, value, allowed), or None."""
        shards, world = protocol.shards, protocol.shards + protocol.learners
        if self.server_ranks and len(self.server_ranks) != shards:
            return "server_ranks", list(self.server_ranks), f"one rank per shard ({shards}) or left out"
        if self.server_ranks and max(self.server_ranks) >= world:
            return "server_ranks", list(self.server_ranks), f"ranks below the world size {world} (shards + learners)"
        if self.fault is not None:
            count, what = (shards, "shard") if self.fault == "server-exit" else (protocol.learners, "learner")
            if self.fault_target >= count:
                return "fault_target", self.fault_target, f"a {what} index 0..{count - 1} for {self.fault}"
        return None
