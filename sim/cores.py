"""Nodes and their cores: where learners and server shards run, and how processes on one node share it.

Placement (ClusterSpec): learner l runs on node l mod `nodes` (left out: a node
per learner); shard s runs on a node of its own, or with `server_node =
"shared"` on learner node s mod nodes (a local run: everything on this machine).

Sharing: while k processes of a node are busy, each runs at 1/slowdown(k) of
its speed alone. slowdown(k) is `slowdown[k-1]` as `rudra calibrate` measured
it (beyond the list: its last value × k / its length), or processor sharing
over `cores_per_node`, max(1, k / cores). Learner computes on a shared node are
jobs under exactly that sharing (SimPy events at each arrival and completion);
a server shard's work (its receive threads' per message received, its loop's
per gradient, per update and per message sent) is timed by its own clock as
before, stretched by slowdown(k + 1) for the k processes busy when it starts,
and counts as a busy process for the computes while it runs.
Its time is fixed when it is timed, so computes that start while it runs
cannot slow it; they get the cores it leaves instead (it holds 1/factor of
one), so the node never does more work than its cores can.
Inflation: a learner's compute on a node of n processes costs
`compute_inflation[n-2]` times its work alone beside its server (n = 2, where
the compute law is measured; beyond the list its last value, once no working
set survives in the caches). It is the CPU a compute costs when it finds its
caches filled by the others, which sharing's slowdown, measured with processes
computing back to back, does not show: the digits mlp's minibatch cost 11-15 %
more CPU beside 3-5 learner-like processes than beside one in six fidelity
calibrations (1.03 in another), and without it the simulator had λ = 4 14 %
fast on both tasks. With `sample_inflation`, compute_inflation is the factor on
the law's overhead and sample_inflation[n-2] the one on its sample_seconds × μ:
a larger minibatch's working set suffers more (the small cnn's compute beside
3 such processes cost 1.11-1.14× at μ = 32, 1.05× at μ = 8; its per-sample
part 1.18×, its overhead 1.0×). Its exchange costs `exchange_inflation[n-2]`
times its exchange alone (left out: compute_inflation's), and far more than a
compute does: real learners' CPU per gradient besides their computes, mlp at
λ = 1, 2, 4 on this 2-core machine 0.13-0.23, 0.20-0.34, 0.19-0.29 ms, the
small cnn's 0.20-0.25, 0.30-0.48, 0.34-0.65 ms (its compute inflates
1.0-1.05).
Only nodes that hold two processes or more and have a sharing law get a Node:
every other process runs at its own speed, with no cost on the hot path.

Waking: a message to a process on a Node may find the core its receiver runs
on busy. The OS wakes a thread on the core it last ran on, even with another
core idle. With k other processes busy on `cores_per_node` cores, that core is
busy with chance min(1, k / cores), held by one of them at random. While a
core is idle (k < cores), the receiver waits until that one's burst ends (the
rest of its compute or server work) or until its core's next scheduler tick,
when the balancer moves it to the idle core, whichever comes first; the tick
(`tick_seconds`) is seen at a random moment, the time to it uniform on
(0, tick). So the waits scale with the bursts, as real ones do: at λ = 2 the
p90 of a learner's wait from its weights' arrival to its compute's start was
0.15-0.4 ms with the digits mlp's computes of 0.17 ms and 1.6-1.9 ms with the
small cnn's of 1.8 ms. One calibrated mean for both (uniform on (0, 2 ×
`wakeup[0]`), measured beside a learner-like process) had the mlp's λ = 2
points 15-17 % slow and the cnn's 6-9 % fast. Once every core is busy
(k >= cores) the wait is exponential of mean `wakeup[k-1]`, as `rudra
calibrate` measured it beside processes computing back to back, and ends no
later than that runner's burst: then its core frees.
Processor sharing alone misses this: a short compute, once running, is
barely slowed, while a message may wait a whole slice (measured here: a
learner's gap from push to its next compute 0.55 ms alone, 2.2 ms beside two
busy processes).
A server's receive thread that finds its core held by a compute, and gets it
before that compute ends, does the server's work for the message there
(`takes`: received, taken in, weights sent): the compute loses that much time,
and the idle core stays idle. Sharing would have moved the compute to it; the
OS does not for so short a time. Real cnn computes in async at λ = 2 ran 1.09×
their time alone while the simulator's ran 1.0× (calibrate's slowdown(2) is
1.0), and the cnn at λ = 2 came out 4-16 % fast in every protocol.

The node is looked at as it is when the message arrives: server work over by
then, computes that will have ended, or that start at that very moment (woken
by the same event), hold no core. Looking when the message is sent instead
counts the server's own earlier work and computes long over, and predicts the
digits mlp's λ = 2 runs 13-14 % slower than real ones (this way: 2-3 %). A
push waits for its shard's receive thread even while the shard's message loop
works: the thread is its own, and a real server's "received" time (run.json
runtime.push_path) grows with the load whether or not the loop is busy.
A message that finds its shard's message loop idle (blocked on the inbox)
wakes a second thread: the receive thread hands it to the loop. The loop takes
the core the receive thread leaves, so while a core is idle this costs
nothing (a real run's "queued" is 0.05 ms at λ = 1 and 0.1 ms in hardsync at
λ = 2); once every core is busy other runnable processes are queued for that
core too, and the loop waits as any woken thread does. Without that second
wait, async at λ = 4 came out 10-12 % fast on both tasks: a real push there
waits 0.8 ms for the loop, four times the loop's own time for it.

Preemption: a real compute beside busy processes is not slowed evenly, as
processor sharing would have it. It runs at its speed alone, and now and then
the OS gives its core to another process for a whole hold: in the cnn's async
λ = 4 runs a compute's median is its time alone, its p90 more than twice that
(cv 0.5, against 0.08 alone). That tail is what widens a real run's
staleness. So a compute of work w that starts while k other processes are
busy, where processor sharing would stretch it by s, loses a Poisson number
of holds of mean w (s − 1) / h, each exponential of mean h = `wakeup[k-1]`
(the time a core once taken stays taken, as a woken message waits for it),
and is booked as work (w + lost) / s: sharing stretches that by s again, so
its mean is sharing's and its spread the OS's.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import simpy
from simpy.events import Timeout

from .spec import ClusterSpec


def slowdown_law(cluster: ClusterSpec) -> Callable[[int], float] | None:
    """slowdown(k) of the cluster's nodes, or None when nothing slows processes that share a node."""
    table, cores = cluster.slowdown, cluster.cores_per_node
    if table:
        last, n = table[-1], len(table)
        return lambda k: table[k - 1] if k <= n else last * k / n
    if cores is not None:
        return lambda k: k / cores if k > cores else 1.0
    return None


def place(cluster: ClusterSpec, learners: int, shards: int, minibatch: int, env: simpy.Environment,
          seq: np.random.SeedSequence) -> tuple[list[Node | None] | None, list[Node | None]]:
    """(node of each learner, node of each shard): a Node where processes share one, else None; the learner
    list itself is None when no learner shares its node (the cluster's fast path)."""
    law = slowdown_law(cluster)
    nodes = cluster.nodes or learners
    learner_at = [l % nodes for l in range(learners)]
    shard_at = [s % nodes if cluster.server_node == "shared" else None for s in range(shards)]
    count: dict[int, int] = {}
    for n in (*learner_at, *shard_at):
        if n is not None:
            count[n] = count.get(n, 0) + 1
    shared = [n for n, k in count.items() if k > 1 and law is not None]
    compute = cluster.compute_inflation or (1.0,)
    exchange = cluster.exchange_inflation or compute
    made = {n: Node(env, law, cluster.wakeup, np.random.default_rng(q), cluster.cores_per_node,
                    compute_inflation(cluster, count[n], minibatch), inflation_at(exchange, count[n]),
                    cluster.tick_seconds, inflation_at(cluster.inflation_idle or (0.0,), count[n]))
            for n, q in zip(shared, seq.spawn(len(shared)))}
    at_learners = [made.get(n) for n in learner_at]
    at_shards = [made.get(n) if n is not None else None for n in shard_at]
    return (at_learners if any(at_learners) else None), at_shards


def compute_inflation(cluster: ClusterSpec, n: int, minibatch: int) -> float:
    """The factor on a learner's compute at μ = `minibatch` on a node of n processes: compute_inflation's, or with
    sample_inflation each part of the law inflated by its own."""
    overhead = inflation_at(cluster.compute_inflation or (1.0,), n)
    if not cluster.sample_inflation:
        return overhead
    fixed, whole = cluster.compute_overhead, cluster.minibatch_time(minibatch)
    return (fixed * overhead + (whole - fixed) * inflation_at(cluster.sample_inflation, n)) / whole


def inflation_at(inflation: Sequence[float], n: int) -> float:
    """An inflation law's factor for a node of n >= 2 processes: entry n - 2, beyond the list its last."""
    return inflation[min(n, len(inflation) + 1) - 2]


class Node:
    """One node's cores. Computes are processor-sharing jobs: all progress at the same rate
    1/slowdown(jobs + busy servers), and at most (cores the server work leaves) / jobs, so each job finishes
    when the node's virtual time (service per job so far) passes its tag, virtual time at its arrival + its
    work alone. One SimPy event is pending for the earliest finish; an arrival or new server work reschedules
    it (stale events carry an old token)."""

    def __init__(self, env: simpy.Environment, slowdown: Callable[[int], float], wakeup: tuple[float, ...] = (),
                 rng: np.random.Generator | None = None, cores: float | None = None, inflation: float = 1.0,
                 exchange_inflation: float = 1.0, tick: float | None = None, idle: float = 0.0):
        self.env, self.slowdown, self.wakeup, self.tick = env, slowdown, wakeup, tick
        self.inflation, self.exchange_inflation = inflation, exchange_inflation
        self.idle = idle  # seconds between computes the inflation was measured with: it holds their cold cost
        self.rng = rng or np.random.default_rng(0)  # which core a receiver finds busy, how long it waits, preemption
        self.cores = cores or 1.0  # without a core count: its core is busy whenever anything is
        self.capacity = cores  # with one: computes get no more of the cores than the server work leaves
        self.jobs: list[tuple[float, int, float, Callable[[float], None]]] = []  # (tag, order, start, done)
        self.arriving: dict[int, tuple[float, float]] = {}  # order -> (start, work) of jobs whose start is ahead
        self.servers: list[tuple[float, float, float]] = []  # server work (start, end, share of a core) not yet over
        self.virtual = self.clock = 0.0
        self.token = self.order = 0

    # --- server work --------------------------------------------------------------------------

    def factor(self, start: float) -> float:
        """How much slower server work starting at `start` (not before now) runs: the slowdown of itself, the
        computes running now that would still run at `start` at today's rate (as `woken` counts them), and the
        server work booked for then (its own earlier work ends by `start`)."""
        running = self._running_at(start) if self.jobs else 0
        return self.slowdown(running + self._servers_at(start) + 1)

    def _running_at(self, t: float) -> int:
        """How many of the jobs running now would still run at t (not before now) at today's rate."""
        now = self.env.now
        self._advance(now)
        rate = self._rate(len(self.jobs), now)
        return sum(1 for job in self.jobs if not rate or (job[0] - self.virtual) / rate > t - now)

    def serve(self, start: float, end: float, factor: float = 1.0) -> None:
        """A server on this node works from `start` (not before now) to `end`, `factor` times slower than alone
        (`factor(start)`): it holds 1/factor of a core all that time."""
        if end > start:
            self._advance(self.env.now)
            self.servers.append((start, end, 1.0 / factor))
            self._reschedule()

    def woken(self, at: float, handed: bool = False, takes: float = 0.0) -> float:
        """Seconds a message reaching a process of this node at `at` (not before now) waits for its core (module
        docstring): with k processes busy then (computes and server work; off-path work is threads of those, not
        processes), its core is busy with chance min(1, k / cores), held by one of them at random; then, while a
        core is idle, it waits until that one's burst ends or its core's next tick, uniform on (0, tick), comes;
        once every core is busy, an exponential wait of mean wakeup[k-1], no longer than that one stays busy. A
        compute counts if it started before `at` (one starting then was woken with this message) and would still
        run then under today's sharing, one booked to start later than now too; the sender's own work is over by
        `at` or not booked yet. A thread `handed` the message by another thread of its process takes the core that
        one leaves: it waits only once every core is busy. While a core is idle, a thread that gets a compute's core
        before that compute ends (at a tick) then runs `takes` seconds on it: the compute ends that much later."""
        now = self.env.now
        at = max(at, now)
        busy = [(end - at, None) for start, end, _ in self.servers if start <= at < end]
        if self.jobs or self.arriving:
            self._advance(now)
            busy += [(left, order) for left, order in (
                (self._finish_time(job[0]) - at, job[1])
                for job in self.jobs if job[3] is not None and job[2] < at) if left > 0]
            rate = self._rate(len(self.jobs) + 1, now) or 1.0 / self.slowdown(len(self.jobs) + 1)
            busy += [(left, order) for left, order in (
                (work / rate - (at - start), order)
                for order, (start, work) in self.arriving.items() if start < at) if left > 0]
        k = len(busy)
        rng = self.rng
        if not k or not self.wakeup or rng.random() * self.cores >= k:
            return 0.0
        left, order = busy[int(rng.random() * k)]
        if k < self.cores:
            if handed:
                return 0.0
            wait = min(left, rng.uniform(0.0, self.tick)) if self.tick else left
            if takes and order is not None and wait < left:
                self._delay(order, takes)
            return wait
        return min(self.wakeup[min(k, len(self.wakeup)) - 1] * rng.exponential(), left)

    # --- computes -------------------------------------------------------------------------------

    def background(self, work: float) -> None:
        """CPU work off every critical path (receive threads, gloo's own) starts now: it only takes core time."""
        self.order += 1
        self._add(self.order, work, None)

    def cost(self, compute: float, exchange: float = 0.0) -> tuple[float, float]:
        """(work, the compute's share of it) on this node for a learner's compute and exchange of these
        seconds alone (module docstring: inflation)."""
        compute *= self.inflation
        work = compute + exchange * self.exchange_inflation
        return work, compute / work if work else 1.0

    def compute(self, t0: float, work: float, done: Callable[[float], None]) -> None:
        """A compute of `work` seconds on this node (`cost`) starts at t0 (not before now); done(t1) is called
        when it ends."""
        self.order += 1
        if t0 > self.env.now:
            self.arriving[self.order] = (t0, work)
            Timeout(self.env, t0 - self.env.now, (self.order, done)).callbacks.append(self._arrive)
        else:
            self._add(self.order, work, done)

    def unfinished(self) -> Iterator[float]:
        """Starts of the computes not finished yet (running or still to start)."""
        yield from (job[2] for job in self.jobs if job[3] is not None)
        yield from (start for start, _ in self.arriving.values())

    def _arrive(self, event) -> None:
        order, done = event.value
        self._add(order, self.arriving.pop(order)[1], done)

    def _delay(self, order: int, work: float) -> None:
        """The compute `order` loses its core for `work` seconds to a woken thread."""
        if order in self.arriving:
            start, own = self.arriving[order]
            self.arriving[order] = (start, own + work)
            return
        self._advance(self.env.now)
        self.jobs = [(tag + work, o, start, done) if o == order else (tag, o, start, done)
                     for tag, o, start, done in self.jobs]
        heapq.heapify(self.jobs)
        self._reschedule()

    def _add(self, order: int, work: float, done: Callable[[float], None] | None) -> None:
        now = self.env.now
        self._advance(now)
        if done is not None and self.wakeup:  # a compute, not off-path work: the others busy may preempt it
            work = self._preempted(work, now)
        heapq.heappush(self.jobs, (self.virtual + work, order, now, done))
        self._reschedule()

    def _preempted(self, work: float, now: float) -> float:
        """The work to book for a compute of `work` starting now: its own, plus the holds of its core it loses
        to the processes busy beside it, over the stretch sharing gives it now (module docstring)."""
        k = sum(1 for job in self.jobs if job[3] is not None) + self._servers_at(now)
        if not k:
            return work
        rate = self._rate(len(self.jobs) + 1, now)
        stretch = 1.0 / rate if rate > 0 else self.slowdown(k + 1)  # server work holding every core: not for ever
        hold = self.wakeup[min(k, len(self.wakeup)) - 1]
        if stretch <= 1.0 or hold <= 0.0:  # holds of no time: the stretch itself, evenly (sharing)
            return work
        holds = self.rng.poisson(work * (stretch - 1.0) / hold)
        return (work + (self.rng.gamma(holds, hold) if holds else 0.0)) / stretch

    def _finish(self, event) -> None:
        if event.value != self.token:
            return  # rescheduled since
        now = self.env.now
        self._advance(now)
        ended = []
        while self.jobs and self.jobs[0][0] <= self.virtual * (1 + 1e-12) + 1e-15:
            ended.append(heapq.heappop(self.jobs))
        self._reschedule()
        for _, _, _, done in ended:
            if done is not None:
                done(now)

    # --- virtual time ---------------------------------------------------------------------------

    def _servers_at(self, t: float) -> int:
        return sum(1 for a, b, _ in self.servers if a <= t < b)

    def _rate(self, k: int, t: float) -> float:
        """Per-job rate of k computes at t (while the server work stays as it is): processor sharing with the
        busy server work, but no more than the cores it leaves. Server work's time is fixed when it is timed,
        so a compute starting after it cannot slow it, and the computes get what is left."""
        held = [share for a, b, share in self.servers if a <= t < b]
        rate = 1.0 / self.slowdown(k + len(held))
        if self.capacity is None or not k:
            return rate
        return min(rate, max(0.0, self.capacity - sum(held)) / k)

    def _segments(self, t: float) -> Iterator[tuple[float, float]]:
        """From t on: (segment end, per-job rate) of the pieces where the server work busy is constant; the last
        piece never ends (and has no server work: its rate is not 0)."""
        points = sorted({p for span in self.servers for p in span[:2] if p > t})
        k = len(self.jobs)
        for p in points:
            yield p, self._rate(k, t)
            t = p
        yield float("inf"), self._rate(k, t)

    def _advance(self, t: float) -> None:
        """Bring virtual time forward to t (jobs unchanged meanwhile) and drop server work that is over."""
        a = self.clock
        if t > a and self.jobs:
            for end, rate in self._segments(a):
                b = end if end < t else t
                self.virtual += (b - a) * rate
                a = b
                if a >= t:
                    break
        self.clock = max(self.clock, t)
        self.servers = [span for span in self.servers if span[1] > self.clock]

    def _finish_time(self, tag: float) -> float:
        """When virtual time reaches `tag` (a job's finish), the jobs and server work staying as they are now."""
        a, v = self.clock, self.virtual
        for end, rate in self._segments(a):
            if v + (end - a) * rate >= tag:
                return a + (tag - v) / rate if tag > v else a  # done already: its rate may be 0 (cores all held)
            v += (end - a) * rate
            a = end
        raise AssertionError("unreachable: the last segment has no server work, so its rate is not 0")

    def _reschedule(self) -> None:
        """Schedule the earliest finish from the jobs and server work known now."""
        self.token += 1
        if self.jobs:
            t = self._finish_time(self.jobs[0][0])
            Timeout(self.env, max(0.0, t - self.env.now), self.token).callbacks.append(self._finish)
