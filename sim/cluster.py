"""The SimPy model: λ learners and S server shards around protocol.ParameterServer instances.

Few events per gradient, no per-gradient processes: events are SimPy Timeouts
with callbacks, everything between them is computed analytically:
  * a shard is a FIFO queue with a clock: it serves messages in arrival order,
    so the protocol is asked once a message's arrival is known and its decisions
    take effect at max(arrival, shard free) plus the cost of each Update;
  * transfers are timed by sim/network.py (FIFO serialisation per NIC).
base/adv without a tree take ONE event per gradient: it fires when the push
would arrive unqueued (compute end + first_hop, the same offset for every
learner, so events fire in send order, which is the NICs' FIFO order); the
callback reserves the NICs and serves every shard at its true arrival time,
which is correct because each shard then sees its messages in arrival order.
With a tree (messages merge) or adv* (pull requests travel apart from pushes)
the push is an event at its hand-over (compute end; adv*: once the previous
gradient has left the link) and each message arrival is an event. Either way
the push event carries the versions the gradient was computed on.
Who waits, when an update happens, σ and scales: all come from the protocol's
decisions (Send, Hold, Update); this module only times them.

Learners (base, adv): pull → compute → push, the next pull riding on the push;
compute starts when the weights of every shard have arrived. Learners (adv*):
a compute thread runs minibatch after minibatch on the newest weights it holds;
at each minibatch start an idle pull thread asks for fresher weights; a push
thread sends each gradient (the compute thread waits only while the previous
gradient is still leaving its link); a learner whose pull the server holds
stops before its next minibatch until the weights arrive.
"""
from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterator
from operator import itemgetter

import numpy as np
import simpy
from simpy.events import Timeout
from tqdm import tqdm

from rudra.protocol import HELD, ParameterServer, ProtocolSpec, Send, TrainSpec, TraceWriter, Update

from .compute import ComputeModel
from .distributions import Stream
from .errors import SimError
from .network import Network, hop
from .spec import ClusterSpec


class Shard:
    """One protocol instance with its clock, update cost and σ tally."""

    __slots__ = ("index", "ps", "free", "busy", "update_cost", "updates", "sigma_sum", "gradients")
    # sigma_sum is tallied here only where no TraceWriter already keeps the histogram (shards > 0, baseline)

    def __init__(self, index: int, ps: ParameterServer, cost: Stream):
        self.index, self.ps = index, ps
        self.update_cost = cost.draw  # seconds the next update keeps this shard busy
        self.free = self.busy = 0.0
        self.updates = self.sigma_sum = self.gradients = 0


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (restoring its state after).

    A run makes no reference cycles (tests/sim/test_cycles.py checks), so reference counting frees
    everything and the collector would only cost time: at λ = 16384 it re-scans the learners' live
    objects after every few hundred allocations (hardsync: 88k → 121k gradients/s without it)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


BURST = 64  # decisions from one message beyond which their events go to SimPy as a _Burst


class _Burst:
    """Events decided together (a hardsync release: λ of them), sorted by time: SimPy's queue holds only
    the next one, which hands SimPy its successor when it fires. A λ-deep heap costs ≈ 2 µs per event at
    λ = 16384 against ≈ 1 µs when short; below BURST events the extra callback costs more than it saves.
    Events at equal times keep the order they were decided in."""

    __slots__ = ("env", "items", "i")

    def __init__(self, env: simpy.Environment, items: list):
        self.env, self.items, self.i = env, items, 0
        self._next(None)

    def _next(self, _) -> None:
        t, value, callback = self.items[self.i]
        self.i += 1
        event = Timeout(self.env, max(0.0, t - self.env.now), value)
        if self.i < len(self.items):
            event.callbacks.append(self._next)
        event.callbacks.append(callback)


class Cluster:
    """One simulated run: build it, `run()` it, then read its counters."""

    def __init__(self, protocol: ProtocolSpec, train: TrainSpec, cluster: ClusterSpec, *, train_samples: int,
                 model_bytes: int, seq: np.random.SeedSequence, writer: TraceWriter | None,
                 max_updates: int | None = None, max_seconds: float | None = None,
                 max_gradients: int | None = None, progress: bool = False):
        lam, S = protocol.learners, protocol.shards
        self.lam, self.S = lam, S
        self.env = simpy.Environment()
        self.writer = writer
        self.full = writer is not None and writer.detail == "full"
        self.per_epoch = train.gradients_per_epoch(train_samples)
        self.target = train.target_gradients(train_samples)
        if max_gradients is not None:
            self.target = min(self.target, max_gradients)
        self.max_updates = max_updates
        self.max_seconds = math.inf if max_seconds is None else max_seconds
        compute_seq, update_seq = seq.spawn(2)
        self.compute = ComputeModel(cluster, lam, train.minibatch, compute_seq)
        shard_bytes = model_bytes / S
        self.net = Network(lam, S, shard_bytes, cluster.latency, cluster.bandwidth, cluster.server_bandwidth,
                           cluster.fan_in)
        schedule = train.schedule(train_samples)
        cost = cluster.update_seconds + (shard_bytes / cluster.memory_bandwidth if cluster.memory_bandwidth else 0.0)
        self.shards = [Shard(s, ParameterServer(protocol, schedule),
                             Stream(np.random.default_rng(q), cluster.update_dist, cluster.update_cv, scale=cost))
                       for s, q in enumerate(update_seq.spawn(S))]
        self.overlap = protocol.architecture == "adv*"
        self.bounded = protocol.max_staleness is not None
        self.inline = not (self.net.leaf or self.overlap)  # pushes served when they arrive (class docstring)
        # base/adv: one event per gradient, when the push would arrive unqueued (with a tree: when it leaves)
        self.push_delay = 0.0 if self.net.leaf else self.net.first_hop
        # per-learner state, O(1) each
        self.pulled = [[-1] * lam for _ in range(S)]   # version each learner computes on, per shard
        self.incoming = [[-1] * lam for _ in range(S)] if self.overlap else self.pulled
        self.pieces = [S] * lam                        # shard weights still to arrive for the current pull (S > 1)
        self.ready = [0.0] * lam                       # when the last of them arrived so far
        self.t_pull = [0.0] * lam                      # when the current pull was asked for (full trace, adv*)
        self.fresh_at: list[float | None] = [None] * lam  # adv*: weights decided, adopted at a compute start
        self.pulling = [True] * lam                    # adv*: pull thread busy
        self.waiting = [True] * lam                    # adv*: compute thread waits for weights
        self.pulled_at = [0.0] * lam                   # adv*: when the weights in use were asked for
        self.compute_seconds = 0.0
        self.holds = 0
        self.stopped, self.stopped_by, self.t_end = False, None, 0.0
        self._burst: list | None = None  # events `_at` collects while a burst of decisions is timed
        self.done = self.env.event()
        self._bar = tqdm(total=self.target, unit="grad", disable=not progress, dynamic_ncols=True)
        self._tick = max(1, self.target // 200)
        self._next_tick = min(self._tick, self.target)

    # --- running -------------------------------------------------------------------------

    def run(self) -> None:
        """Simulate until the first stopping rule (epochs, updates, seconds) fires."""
        first = self.net.request_delay
        for s in range(self.S):
            self._at(first, (s, [(l, None, None, True) for l in range(self.lam)], first), self._arrive)
        if self.max_seconds < math.inf:
            self.env.timeout(self.max_seconds).callbacks.append(lambda _: self._stop(self.max_seconds, "seconds"))
        try:
            with cycle_collector_paused():
                self.env.run(until=self.done)
        except RuntimeError as e:  # no event left but no stopping rule met
            raise SimError(f"simulation stalled at t = {self.env.now:g} s with no event left ({e})") from None
        finally:
            self._bar.close()

    def _at(self, t: float, value, callback) -> None:
        """Call `callback` with an event of `value` at t (during a burst: once the burst is timed)."""
        if self._burst is not None:
            self._burst.append((t, value, callback))
            return
        delay = t - self.env.now
        if delay < 0.0:  # t is never earlier, but sums in another order may round 1 ulp below now
            delay = 0.0  # (a test, not max(): this runs once per gradient and a builtin call costs 5%)
        Timeout(self.env, delay, value).callbacks.append(callback)

    def _stop(self, t: float, why: str) -> None:
        if not self.stopped:
            self.stopped, self.stopped_by, self.t_end = True, why, t
            self.done.succeed()

    # --- server side --------------------------------------------------------------------

    def _arrive(self, event) -> None:
        """A scheduled message reaches its shard."""
        if not self.stopped:
            self._serve(*event.value)

    def _serve(self, s: int, items: list, t: float) -> None:
        """Messages reach shard s at t: the protocol decides, the shard's clock times the decisions."""
        shard = self.shards[s]
        if shard.free > t:
            t = shard.free
        ps = shard.ps
        for l, j, handle, pull in items:
            if j is None:
                decisions = ps.pull(l)
            elif pull:  # the pull is answered after the push is processed
                decisions = ps.push(l, j, handle) + ps.pull(l)
            else:
                decisions = ps.push(l, j, handle)
            burst = len(decisions) > BURST
            if burst:
                self._burst = []
            for d in decisions:
                kind = type(d)
                if kind is Send:
                    self._weights(s, d.learner, d.version, t)
                elif kind is Update:
                    cost = shard.update_cost()
                    shard.busy += cost
                    t += cost
                    self._applied(shard, d, t)
                else:
                    self.holds += 1
            if burst:
                events, self._burst = self._burst, None
                if events:
                    events.sort(key=itemgetter(0))  # stable: ties keep their order
                    _Burst(self.env, events)
            if self.stopped:
                return
        shard.free = t

    def _applied(self, shard: Shard, update: Update, t: float) -> None:
        """Count an update; shard 0's (every shard sees every gradient) also drive the trace, the progress
        bar and the stopping rules."""
        main = shard.index == 0
        if main and t > self.max_seconds:
            self._stop(self.max_seconds, "seconds")
            return
        shard.updates += 1
        shard.gradients += len(update.gradients)
        if not main or self.writer is None:
            shard.sigma_sum += sum(a.staleness for a in update.gradients)
        if not main:
            return
        if self.writer is not None:
            self.writer.update(update, t, [a.gradient for a in update.gradients] if self.full else ())
        done = shard.ps.gradients_applied
        if done >= self._next_tick:  # ticks never pass the target, so it is checked only here
            self._bar.update(min(done, self.target) - self._bar.n)
            self._next_tick = min(done + self._tick, self.target)
            if done >= self.target:
                self._stop(t, "epochs")
        if self.max_updates is not None and shard.updates >= self.max_updates:
            self._stop(t, "updates")

    # --- learner side -------------------------------------------------------------------

    def _weights(self, s: int, l: int, version: int, t: float) -> None:
        """Shard s sends `version` to learner l at t; once every shard has, the learner goes on:
        base/adv compute from then and push, the next pull riding along; adv* see `_start`."""
        net = self.net
        if net.leaf:
            arrival = net.tree_weights(s, l, version, t)
        else:
            arrival = hop(t, net.shard_bytes, net.shard_out[s], net.down[l], net.latency)[1]
        self.incoming[s][l] = version
        if self.S == 1:  # its only piece: no countdown (the per-learner lists are cache misses at large λ)
            t0 = arrival
        else:
            ready = self.ready
            if arrival > ready[l]:
                ready[l] = arrival
            left = self.pieces[l] - 1
            if left:
                self.pieces[l] = left
                return
            t0 = ready[l]
            self.pieces[l], ready[l] = self.S, 0.0  # counted down: set for the learner's next pull
        if self.overlap:
            self.fresh_at[l], self.pulling[l] = t0, False
            if self.waiting[l]:
                self.waiting[l] = False
                self._start(l, t0)
            return
        c = self.compute(l)
        self.compute_seconds += c
        t1 = t0 + c
        handle = (self.t_pull[l], t0, t1, t1) if self.full else None
        versions = (version,) if self.S == 1 else self._holding(l)
        self._at(t1 + self.push_delay, (l, t1, versions, handle, True), self._pushed)

    def _holding(self, l: int) -> tuple[int, ...]:
        """The version of each shard learner l computes on."""
        return tuple([p[l] for p in self.pulled])

    def _pushed(self, event) -> None:
        """Learner l hands a gradient, computed on `versions`, to the network at t (base/adv: its next pull
        rides along)."""
        if self.stopped:
            return
        l, t, versions, handle, pull = event.value
        if pull and self.full:
            self.t_pull[l] = t
        net = self.net
        for s in range(self.S):
            item = (l, versions[s], handle, pull)
            if net.leaf:
                sent = net.tree_push(l, s, t, item)
                if sent is not None:  # else summed into a message already on its way
                    self._at(sent[0], (s, sent[1], sent[0]), self._arrive)
                continue
            arrival = hop(t, net.shard_bytes, net.up[l], net.shard_in[s], net.latency)[1]
            if self.inline:
                self._serve(s, (item,), arrival)
            else:
                self._at(arrival, (s, (item,), arrival), self._arrive)

    # --- adv*: separate compute, push and pull threads ------------------------------------

    def _start(self, l: int, t: float) -> None:
        """adv*: the compute thread is free at t; adopt arrived weights, keep the pull thread busy, compute."""
        fresh = self.fresh_at[l]
        if fresh is not None and fresh <= t:
            for s in range(self.S):
                self.pulled[s][l] = self.incoming[s][l]
            self.fresh_at[l], self.pulled_at[l], fresh = None, self.t_pull[l], None
        if fresh is None and not self.pulling[l]:
            self.pulling[l], self.t_pull[l] = True, t
            arrive = t + self.net.request_delay
            for s in range(self.S):
                self._at(arrive, (s, [(l, None, None, True)], arrive), self._arrive)
        if self.bounded and any(sh.ps.state(l) == HELD for sh in self.shards):
            self.waiting[l] = True
            return
        c = self.compute(l)
        self.compute_seconds += c
        self._at(t + c, (l, t, t + c), self._overlap_computed)

    def _overlap_computed(self, event) -> None:
        """adv*: the push thread takes the gradient once the previous one has left the link (that push's
        event, at its hand-over, came before this compute end); the compute thread goes on from then."""
        if self.stopped:
            return
        l, t0, t1 = event.value
        handoff = max(t1, self.net.up[l].free)
        handle = (self.pulled_at[l], t0, t1, handoff) if self.full else None
        self._at(handoff, (l, handoff, self._holding(l), handle, False), self._pushed)
        self._start(l, handoff)
