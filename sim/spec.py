"""Simulator settings: the `[cluster]` (hardware model) and `[sim]` (run control) sections.

Plain frozen dataclasses following protocol/spec.py: constraints live in each
field's metadata (doc, choices, min/max, gt, each) and rudra/config.py checks
them generically; cross-field rules live in `invalid()`. λ, architecture and
shards are `[protocol]` settings; μ, epochs and lr are `[train]` settings.

Random factors (`*_dist` with `*_cv`) all have mean 1 and coefficient of
variation cv, so changing the distribution changes the shape, not the mean:
  constant     1 (cv must be left at 0)
  normal       1 + cv·z, clipped at 0.01
  lognormal    exp(s·z − s²/2) with s² = ln(1 + cv²)
  exponential  (1 − cv) + cv·Exp(1): a fixed part plus an exponential tail (cv ≤ 1)
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from rudra.protocol.spec import ProtocolSpec, TrainSpec

DISTRIBUTIONS = ("constant", "normal", "lognormal", "exponential")
SERVER_NODES = ("own", "shared")
DEFAULT_SAMPLE_SECONDS = 0.001
TRACE_DETAILS = ("full", "summary")


def _dist_invalid(prefix: str, dist: str, cv: float) -> tuple[str, object, str] | None:
    """The cv rule shared by every `<prefix>_dist` / `<prefix>_cv` pair."""
    if dist == "constant" and cv != 0.0:
        return f"{prefix}_cv", cv, f"left out with {prefix}_dist = 'constant' (pick normal, lognormal or exponential)"
    if dist != "constant" and cv == 0.0:
        return f"{prefix}_cv", cv, f"> 0 with {prefix}_dist = {dist!r}"
    if dist == "exponential" and cv > 1.0:
        return f"{prefix}_cv", cv, "<= 1 with an exponential distribution (its fixed part would be negative)"
    return None


@dataclass(frozen=True)
class ClusterSpec:
    """The simulated hardware: learner compute, nodes and cores, links, server NICs, server costs, tree."""

    compute_overhead: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "fixed compute seconds per minibatch, whatever μ (the law: "
                                                   "compute_overhead + sample_seconds × μ)"})
    sample_seconds: float | None = field(
        default=None, metadata={"gt": 0.0, "doc": "compute seconds per training sample; left out: 0.001, or "
                                                  "none with minibatch_seconds"})
    minibatch_seconds: float | None = field(
        default=None, metadata={"gt": 0.0, "doc": "measured compute seconds per minibatch at μ = "
                                                  "minibatch_seconds_at; replaces the law at that μ only"})
    minibatch_seconds_at: int | None = field(
        default=None, metadata={"min": 1, "doc": "the μ minibatch_seconds was measured at (required with it)"})
    exchange_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "learner CPU seconds per gradient besides computing it (taking "
                                                  "in the weights, filling and sending the push), spent before the "
                                                  "push leaves (adv*: by its push and pull threads, beside its "
                                                  "computes); on a shared node it competes for the cores"})
    exchange_shard_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "learner CPU seconds per gradient for each server shard beyond "
                                                  "the first (one more push to fill and send, one more weights "
                                                  "message to take in), added to exchange_seconds and inflated "
                                                  "with it (rudra calibrate: measured on a node as busy as the "
                                                  "run's, over that node's exchange_inflation)"})
    offpath_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "learner CPU seconds per gradient off the critical path (gloo's "
                                                  "threads): on a shared node it only takes core time"})
    server_offpath_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "server CPU seconds per gradient received, on each shard, off "
                                                  "the critical path (its receive threads): on a shared node it "
                                                  "only takes core time"})
    speeds: tuple[float, ...] = field(
        default=(), metadata={"each": {"gt": 0.0},
                              "doc": "relative speed of each learner (compute time ÷ speed), one per learner"})
    speed_dist: str = field(
        default="constant", metadata={"choices": DISTRIBUTIONS, "doc": "distribution of learner speeds, drawn once"})
    speed_cv: float = field(default=0.0, metadata={"min": 0.0, "doc": "coefficient of variation of learner speeds"})
    jitter_dist: str = field(
        default="constant", metadata={"choices": DISTRIBUTIONS, "doc": "distribution of each minibatch's time factor"})
    jitter_cv: float = field(default=0.0, metadata={"min": 0.0, "doc": "coefficient of variation of compute time"})
    straggler_fraction: float = field(
        default=0.0, metadata={"min": 0.0, "max": 1.0, "doc": "share of learners (picked by seed) always slowed"})
    straggler_prob: float = field(
        default=0.0, metadata={"min": 0.0, "max": 1.0, "doc": "probability that any one minibatch is slowed"})
    straggler_slowdown: float = field(
        default=4.0, metadata={"min": 1.0, "doc": "compute-time factor of a straggler or a slowed minibatch"})
    startup_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "seconds from the run's start until the learners' first pulls "
                                                  "leave (processes joining, the server's first evaluation)"})
    warmup_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "learner CPU seconds its first gradients take beyond steady ones "
                                                  "(lazy initialisation, cold caches), spent once before its first "
                                                  "pull; on a shared node it competes for the cores"})
    server_warmup_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "server seconds its first update takes beyond a steady one (the "
                                                  "optimizer's state), once per shard"})
    ramp_until: tuple[int, ...] = field(
        default=(), metadata={"each": {"min": 1},
                              "doc": "increasing counts of a learner's gradients that bound the ramp's stretches: "
                                     "its gradients before ramp_until[0], then before each next bound, each wait "
                                     "that stretch's ramp_seconds (rudra calibrate); left out: no ramp"})
    ramp_seconds: tuple[float, ...] = field(
        default=(), metadata={"doc": "seconds each of a learner's gradients in that stretch of the ramp waits before "
                                     "its compute starts, plus ramp_sample_seconds × μ, never less than 0: a fresh "
                                     "process is not at speed for its first hundreds of gradients; a wait that "
                                     "holds no core (rudra calibrate)"})
    ramp_sample_seconds: tuple[float, ...] = field(
        default=(), metadata={"doc": "that wait's seconds per sample of μ, per stretch (rudra calibrate: a real "
                                     "learner at two μ; the digits mlp's ramp at μ = 32 was 2-4 times its ramp at "
                                     "μ = 8); left out: none"})
    latency: float = field(default=0.0, metadata={"min": 0.0, "doc": "seconds per message per hop"})
    bandwidth: float | None = field(
        default=None, metadata={"gt": 0.0, "doc": "bytes/s of each learner's (and aggregator's) link; left out: infinite"})
    server_bandwidth: float | None = field(
        default=None, metadata={"gt": 0.0, "doc": "bytes/s of each server shard's NIC per direction; left out: infinite"})
    recv_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "server CPU seconds per message received (a push or a pull), by "
                                                  "its sender's receive thread beside the message loop"})
    push_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "server CPU seconds per gradient received besides its message's "
                                                  "recv_seconds (the protocol's bookkeeping per gradient)"})
    send_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "server CPU seconds per weights message sent"})
    update_seconds: float = field(
        default=0.0, metadata={"min": 0.0, "doc": "server CPU seconds per applied update besides shard bytes ÷ "
                                                  "memory_bandwidth: the optimizer step's fixed part and all else the "
                                                  "server does per update (rudra calibrate measures both)"})
    memory_bandwidth: float | None = field(
        default=None, metadata={"gt": 0.0, "doc": "bytes/s: each update also costs shard bytes ÷ this"})
    update_dist: str = field(
        default="constant", metadata={"choices": DISTRIBUTIONS, "doc": "distribution of each update's cost factor"})
    update_cv: float = field(default=0.0, metadata={"min": 0.0, "doc": "coefficient of variation of update cost"})
    nodes: int | None = field(
        default=None, metadata={"min": 1, "doc": "nodes the learners run on (learner l on node l mod nodes); "
                                                 "left out: a node per learner"})
    server_node: str = field(
        default="own", metadata={"choices": SERVER_NODES,
                                 "doc": "own: each server shard on a node of its own; shared: shard s on learner "
                                        "node s mod nodes, as in a local run"})
    cores_per_node: float | None = field(
        default=None, metadata={"min": 1.0, "doc": "cores of each node, shared by the processes on it; "
                                                   "left out: as many as they need"})
    slowdown: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 1.0},
                              "doc": "compute-time factor with k = 1, 2, … processes busy on one node (rudra "
                                     "calibrate); beyond the list: its last value × k / its length; left out: "
                                     "max(1, k / cores_per_node)"})
    compute_inflation: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 1.0},
                              "doc": "factor on a learner's compute and exchange time alone on a node that holds "
                                     "n = 2, 3, … processes (rudra calibrate: the CPU of a minibatch beside "
                                     "learner-like processes, over beside one: caches hold more working sets); "
                                     "beyond the list: its last value; left out: 1"})
    sample_inflation: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 1.0},
                              "doc": "factor on the law's sample_seconds × μ part of a learner's compute on a node "
                                     "of n = 2, 3, … processes, compute_inflation then being its overhead's (rudra "
                                     "calibrate: learner-like processes at two μ; the small cnn's per-sample part "
                                     "cost 18 % more beside 3 others, its overhead no more); beyond the list: its "
                                     "last value; left out: compute_inflation on the whole compute"})
    exchange_inflation: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 1.0},
                              "doc": "factor on a learner's exchange_seconds on a node that holds n = 2, 3, … "
                                     "processes (rudra calibrate: its exchange beside n - 2 busy processes, over "
                                     "beside its server alone: gloo's thread and the learner's wake-ups find cold "
                                     "caches); beyond the list: its last value; left out: compute_inflation's"})
    cold_idle: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 0.0},
                              "doc": "seconds a learner was idle since its previous compute ended, increasing; the "
                                     "first is where the compute law's level holds (rudra calibrate: a process "
                                     "pausing a real learner's gap alone, its waits for a core included)"})
    cold_seconds: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 0.0},
                              "doc": "compute seconds a minibatch costs beyond the law after cold_idle[i] seconds "
                                     "idle (its caches refilled: rudra calibrate), starting at 0.0; linear between "
                                     "the points, none before the first, the last beyond the last; left out: none"})
    inflation_idle: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 0.0},
                              "doc": "seconds from one compute's end to the next one's start of the learner-like "
                                     "processes compute_inflation was measured with on a node of n = 2, 3, … (their "
                                     "pause and their waits for a core): its factor holds the cold cost of that "
                                     "idle, so a learner there pays cold_seconds only for an idle beyond it; "
                                     "beyond the list: its last value; left out: the full cold cost"})
    wakeup: tuple[float, ...] = field(
        default=(), metadata={"each": {"min": 0.0},
                              "doc": "once every core of its node is busy, mean seconds a message waits for its "
                                     "receiver to get a core, with k = 1, 2, … other processes busy (rudra "
                                     "calibrate; no longer than the process holding the core stays busy), and the "
                                     "mean hold a compute loses its core for when the OS preempts it; beyond the "
                                     "list: its last value; left out: no waits (computes shared evenly)"})
    tick_seconds: float | None = field(
        default=None, metadata={"gt": 0.0,
                                "doc": "seconds between the OS scheduler's ticks on a node (1 / the kernel's "
                                       "CONFIG_HZ; rudra calibrate reads it): while a core is idle, a woken thread "
                                       "queued behind a busy one waits no longer than to its core's next tick, "
                                       "when the balancer moves it; left out: until that one's burst ends"})
    fan_in: int | None = field(
        default=None, metadata={"min": 2, "doc": "adv/adv*: aggregation tree fan-in k; left out: no tree"})
    model_bytes: int | None = field(
        default=None, metadata={"min": 1, "doc": "bytes of weights (= of a gradient); left out: taken from the model"})
    profile: str | None = field(
        default=None, metadata={"doc": "a calibration profile (rudra calibrate) whose [cluster] values this file's "
                                       "own keys override; read when the file is loaded"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        if self.minibatch_seconds is not None:
            if self.minibatch_seconds_at is None:
                return ("minibatch_seconds_at", None, "the μ minibatch_seconds was measured at (or give the law: "
                        "compute_overhead + sample_seconds × μ)")
            for name in ("sample_seconds", "compute_overhead"):
                if getattr(self, name):
                    return name, getattr(self, name), "left out with minibatch_seconds (one compute time at a time)"
        elif self.minibatch_seconds_at is not None:
            return "minibatch_seconds_at", self.minibatch_seconds_at, "left out without minibatch_seconds"
        if self.slowdown and self.slowdown[0] != 1.0:
            return "slowdown", list(self.slowdown), "a list starting at 1.0 (one process alone sets the scale)"
        if self.sample_inflation and self.minibatch_seconds is not None:
            return ("sample_inflation", list(self.sample_inflation),
                    "left out with minibatch_seconds (it inflates the law's sample_seconds × μ)")
        for name in ("compute_inflation", "sample_inflation", "exchange_inflation"):
            if getattr(self, name) and getattr(self, name)[0] != 1.0:
                return name, list(getattr(self, name)), ("a list starting at 1.0 (n = 2, a learner and its "
                                                         "server, sets the scale)")
        if len(self.cold_seconds) != len(self.cold_idle):
            return ("cold_seconds", list(self.cold_seconds),
                    f"one value per cold_idle point ({len(self.cold_idle)}), or both left out")
        if any(b <= a for a, b in zip(self.cold_idle, self.cold_idle[1:])):
            return "cold_idle", list(self.cold_idle), "increasing idle times"
        if self.cold_seconds and self.cold_seconds[0] != 0.0:
            return ("cold_seconds", list(self.cold_seconds),
                    "a list starting at 0.0 (the law is measured after cold_idle[0] seconds idle)")
        if len(self.ramp_seconds) != len(self.ramp_until):
            return ("ramp_seconds", list(self.ramp_seconds),
                    f"one value per ramp_until bound ({len(self.ramp_until)}), or both left out")
        if self.ramp_sample_seconds and len(self.ramp_sample_seconds) != len(self.ramp_until):
            return ("ramp_sample_seconds", list(self.ramp_sample_seconds),
                    f"one value per ramp_until bound ({len(self.ramp_until)}), or left out")
        if any(b <= a for a, b in zip(self.ramp_until, self.ramp_until[1:])):
            return "ramp_until", list(self.ramp_until), "increasing gradient counts"
        if self.speeds and self.speed_dist != "constant":
            return "speed_dist", self.speed_dist, "left out when speeds lists every learner"
        for prefix in ("speed", "jitter", "update"):
            bad = _dist_invalid(prefix, getattr(self, f"{prefix}_dist"), getattr(self, f"{prefix}_cv"))
            if bad is not None:
                return bad
        return None

    def invalid_with(self, protocol: ProtocolSpec) -> tuple[str, object, str] | None:
        """The first violation of a rule that needs `[protocol]` too, as (field, value, allowed), or None."""
        if self.speeds and len(self.speeds) != protocol.learners:
            return "speeds", list(self.speeds), f"one speed per learner ({protocol.learners} values) or left out"
        if self.fan_in is not None and protocol.architecture == "base":
            return "fan_in", self.fan_in, "left out with architecture 'base' (a tree needs 'adv' or 'adv*')"
        return None

    def invalid_with_train(self, train: TrainSpec) -> tuple[str, object, str] | None:
        """The first violation of a rule that needs `[train]` too, as (field, value, allowed), or None."""
        at = self.minibatch_seconds_at
        if self.minibatch_seconds is not None and at != train.minibatch:
            return ("minibatch_seconds", self.minibatch_seconds,
                    f"only at train.minibatch = {at}, where it was measured (train.minibatch is {train.minibatch}: "
                    "give compute_overhead and sample_seconds, e.g. from rudra calibrate)")
        return None

    def cold_time(self, paid: float = 0.0) -> Callable[[float], float] | None:
        """Compute seconds a minibatch costs beyond the law after its learner idled that long (cold_seconds), less
        what an idle of `paid` seconds costs (a node's inflation_idle: its compute_inflation holds that much), never
        below 0; or None when nothing is measured."""
        if len(self.cold_idle) < 2:
            return None
        idle, extra = self.cold_idle, self.cold_seconds
        first, last = idle[0], idle[-1]

        def law(t: float) -> float:
            if t <= first:
                return 0.0
            if t >= last:
                return extra[-1]
            i = bisect.bisect_right(idle, t)
            return extra[i - 1] + (extra[i] - extra[i - 1]) * (t - idle[i - 1]) / (idle[i] - idle[i - 1])
        floor = law(paid)
        if not floor:
            return law
        return lambda t: max(0.0, law(t) - floor) if t > paid else 0.0

    def ramp(self, minibatch: int) -> list[float]:
        """Seconds a learner's i-th compute waits before it starts at μ = `minibatch` (ramp_until, ramp_seconds,
        ramp_sample_seconds), for every i below the last bound."""
        per_sample = self.ramp_sample_seconds or (0.0,) * len(self.ramp_until)
        waits: list[float] = []
        for until, wait, slope in zip(self.ramp_until, self.ramp_seconds, per_sample):
            waits += [max(0.0, wait + slope * minibatch)] * (until - len(waits))
        return waits

    def minibatch_time(self, minibatch: int) -> float:
        """Compute seconds of one minibatch of `minibatch` samples on a learner of speed 1, alone on its node."""
        if self.minibatch_seconds is not None:
            return self.minibatch_seconds
        per_sample = DEFAULT_SAMPLE_SECONDS if self.sample_seconds is None else self.sample_seconds
        return self.compute_overhead + per_sample * minibatch


@dataclass(frozen=True)
class SimSpec:
    """How long to simulate and what to write (epochs come from `[train]`)."""

    trace: str = field(
        default="full", metadata={"choices": TRACE_DETAILS,
                                  "doc": "full: one row per gradient; summary: histograms only (O(1) per learner)"})
    max_updates: int | None = field(default=None, metadata={"min": 1, "doc": "stop after this many updates"})
    max_seconds: float | None = field(default=None, metadata={"gt": 0.0, "doc": "stop at this simulated time"})
    speedup: bool = field(
        default=True, metadata={"doc": "also simulate λ = 1 on the same cluster to report the speedup"})
    numerics: bool = field(
        default=False, metadata={"doc": "also run the real gradients and updates in simulated order "
                                        "(metrics.csv: test error per epoch in simulated time; needs torch)"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        return None
