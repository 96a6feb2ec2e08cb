"""The SimPy model: λ learners and S server shards around protocol.ParameterServer instances.

Few events per gradient, no per-gradient processes: events are SimPy Timeouts
with callbacks, everything between them is computed analytically:
  * a shard is a FIFO queue with a clock (its message loop): it serves messages
    in arrival order, so the protocol is asked once a message's arrival is known
    and its decisions take effect at max(arrival, shard free) plus its costs:
    per gradient received, per Update, per weights message sent. A message
    arrives once its sender's receive thread has taken it in (recv_seconds),
    beside the loop, as the runtime's one thread per peer does: charged to the
    loop, a real run's push path read 0 ms received and twice the real served
    at λ = 1, and the loop queued λ messages' receiving after a hardsync release;
  * transfers are timed by sim/network.py (FIFO serialisation per NIC);
  * processes that share a node's cores (sim/cores.py): their computes end when
    processor sharing says, and their shard's costs are stretched.
base/adv without a tree take ONE event per gradient: it fires when the push
would arrive unqueued (compute end + first_hop, the same offset for every
learner, so events fire in send order, which is the NICs' FIFO order); the
callback reserves the NICs and serves every shard at its true arrival time,
which is correct because each shard then sees its messages in arrival order.
With a tree (messages merge) or adv* (pull requests travel apart from pushes)
the push is an event at its hand-over (compute end; adv*: once the previous
gradient has left the link) and each message arrival is an event. Either way
the push event carries the versions the gradient was computed on.
Who waits, when an update happens, σ and scales: all come from the server
machines' decisions (Send, Hold, Update); what a learner does next (pull,
compute on which weights, push, stop) from its learner machine
(protocol/learner.py). This module only times them; the times of each
gradient wait in a side table (full trace) until shard 0 applies it.

A learner is told what reached it when its next choice depends on it. A base
or adv learner decides a whole minibatch (compute, then push with the next
pull) when its last weights arrive, so it is told of them when they are sent.
An adv* learner is told at each hand-over (compute
end, or once the previous push has left the link) what reached it by then —
weights, and Holds (a Hold is a small message back along the request path) —
and, while it waits for weights, of their arrival as soon as they are sent.
"""
from __future__ import annotations

import contextlib
import gc
import math
from collections import deque
from collections.abc import Iterator
from itertools import chain
from operator import itemgetter

import numpy as np
import simpy
from simpy.events import Timeout
from tqdm import tqdm

from rudra.protocol import (ParameterServer, ProtocolSpec, Send, TrainSpec, TraceWriter, Update, inbox_slots,
                            new_learner)
from rudra.protocol.learner import ADOPT, PULL, PUSH, WAITING

from .compute import ComputeModel
from .cores import Node, place
from .distributions import Stream
from .errors import SimError
from .network import Network, hop
from .spec import ClusterSpec


class Shard:
    """One protocol instance with its clock, update cost and σ tally."""

    __slots__ = ("index", "ps", "free", "busy", "cpu", "update_cost", "updates", "sigma_sum", "gradients", "node",
                 "ends")
    # sigma_sum is tallied here only where no TraceWriter already keeps the histogram (shards > 0, baseline)

    def __init__(self, index: int, ps: ParameterServer, cost: Stream, node: Node | None, warmup: float = 0.0):
        self.index, self.ps, self.node = index, ps, node  # node: where it shares cores (None: it does not)
        # seconds the next update keeps this shard busy; its first also pays the warm-up
        self.update_cost = chain([cost.draw() + warmup], iter(cost.draw, None)).__next__ if warmup else cost.draw
        self.free = self.busy = 0.0
        self.cpu = 0.0  # its work's CPU seconds: busy time less the stretch of sharing a node
        self.updates = self.sigma_sum = self.gradients = 0
        self.ends: deque[float] | None = None  # adv*: when each message it holds is done with (inbox_slots)


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
        compute_seq, update_seq, wake_seq = seq.spawn(3)
        self.compute = ComputeModel(cluster, lam, train.minibatch, compute_seq)
        self.compute_times, self.jitter = self.compute.times, self.compute.jitter  # c = times[l] × jitter()
        self.ended = [math.inf] * lam  # when each learner's last compute ended: none yet, so its first is not cold
        self.ramp = cluster.ramp(train.minibatch)  # seconds a learner's i-th compute waits to start: not at speed
        self.started = [0] * lam                    # computes each learner has started (while a ramp is left)
        self.ramped = 0                             # learners past the ramp: once all are, it is dropped
        # learner CPU per gradient besides c, before its push leaves: one exchange with each shard
        self.exchange = cluster.exchange_seconds + (S - 1) * cluster.exchange_shard_seconds
        self.startup = cluster.startup_seconds    # before the first pulls leave
        self.warmup = cluster.warmup_seconds      # learner CPU once, before its first pull
        shard_bytes = model_bytes / S
        self.net = Network(lam, S, shard_bytes, cluster.latency, cluster.bandwidth, cluster.server_bandwidth,
                           cluster.fan_in)
        schedule = train.schedule(train_samples)
        cost = cluster.update_seconds + (shard_bytes / cluster.memory_bandwidth if cluster.memory_bandwidth else 0.0)
        self.learner_nodes, shard_nodes = place(cluster, lam, S, train.minibatch, self.env, wake_seq)  # cores.py
        self.shards = [Shard(s, ParameterServer(protocol, schedule),
                             Stream(np.random.default_rng(q), cluster.update_dist, cluster.update_cv, scale=cost),
                             shard_nodes[s], cluster.server_warmup_seconds)
                       for s, q in enumerate(update_seq.spawn(S))]
        # per message in, per gradient in (besides its message), per weights out; the sharing factor
        self.costs = (cluster.recv_seconds, cluster.push_seconds, cluster.send_seconds, 1.0)
        # CPU per gradient off the critical path, on shared nodes only: the learner's, each shard's (sim/cores.py)
        self.server_offpath = cluster.server_offpath_seconds
        self.offpath_shards = [shard for shard in self.shards if shard.node is not None and self.server_offpath]
        nodes = self.learner_nodes or [None] * lam
        # c + cold[l](idle since the learner's previous compute ended), beyond what its node's inflation holds:
        # one law per node, shared by its learners
        laws = {node: cluster.cold_time(node.idle if node is not None else 0.0) for node in set(nodes)}
        self.cold = [laws[node] for node in nodes] if laws[nodes[0]] is not None else None
        self.offpath = [cluster.offpath_seconds if node is not None else 0.0 for node in nodes]
        self.carried = [self._off_path_work(node, offpath) for node, offpath in zip(nodes, self.offpath)]
        self.learners = [new_learner(protocol) for _ in range(lam)]
        self.overlap = protocol.architecture == "adv*"
        self.hears_holds = self.learners[0].hears_holds  # else a Hold changes nothing a learner does
        self.inline = not (self.net.leaf or self.overlap)  # pushes served when they arrive (class docstring)
        self.contended = self.overlap or any(shard.node is not None for shard in self.shards)  # see _reached
        self.arrive = self._arrive  # a message's arrival event; adv* without a tree: _arrive_held (below)
        # base/adv: one event per gradient, when the push would arrive unqueued (with a tree: when it leaves)
        self.push_delay = 0.0 if self.net.leaf else self.net.first_hop
        # timing side tables, O(1) per learner; what each learner decides is its machine's
        self.ready = [0.0] * lam                       # when the last weights of the current pull arrived so far
        self.t_pull = [0.0] * lam                      # when the current pull was asked for (full trace, adv*)
        self.times: dict[tuple[int, int], tuple] = {}  # (learner, step) -> its gradient's times (full trace)
        # full trace: shard 0's (arrival, taken in) of each learner's gradients not applied yet, oldest first (a
        # learner's are applied in the order they came), and over the applied ones the sums of PUSH_PATH's parts
        # (received, queued, served) and their count
        self.taken: list[deque[tuple[float, float]]] = [deque() for _ in range(lam)] if self.full else []
        self.path = [0.0, 0.0, 0.0, 0]
        if self.overlap:  # what is on its way to each learner, told at arrival (module docstring)
            self.incoming = [[-1] * lam for _ in range(S)]  # versions sent, per shard
            self.pieces = [S] * lam                    # shards still to send the current pull's weights
            self.fresh_at: list[float | None] = [None] * lam  # when the pull's last weights arrive
            self.holds_due: dict[int, list[tuple[float, int]]] = {}  # learner -> (arrival, shard) of Holds
            self.pulled_at = [0.0] * lam               # when the weights in use were asked for
            self.handing: list[tuple[float, float]] = [(0.0, 0.0)] * lam  # (t0, t1) of the last gradient computed
            # when shard s's receive thread for learner l is free for l's next message: one connection keeps its
            # messages in order, and a send waits for that thread's receive (_pushed_overlap)
            self.channel = [[0.0] * lam for _ in range(S)]
            self.returns = [0.0] * lam                 # when the push in flight's blocking send returns
            if not self.net.leaf:  # a push waits for a free slot at its shards (_reached)
                self.arrive = self._arrive_held
                for shard in self.shards:
                    shard.ends = deque(maxlen=inbox_slots(lam + (S - 1 if shard.index == 0 else 0), shard.ps.c))
        self.compute_seconds = 0.0
        # CPU seconds each learner is booked for (its computes', and all of it: exchanges, off-path, warm-up), as
        # a real run's run.json counts them: what the model charges, held apart from the waiting it predicts
        self.learner_compute_cpu = [0.0] * lam
        self.learner_cpu = [self.warmup] * lam
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
        asking = [l for l, m in enumerate(self.learners) if m.begin() == (PULL,)]  # every learner starts so
        # each warms up before its first pull (the same critical path as on its first gradient): alone a delay,
        # on a shared node CPU that competes for its cores
        nodes = self.learner_nodes
        sharing = set() if not self.warmup or nodes is None else {l for l in asking if nodes[l] is not None}
        self._first_pull(self.startup + self.warmup, [l for l in asking if l not in sharing])
        for l in sorted(sharing):
            work = nodes[l].cost(self.warmup)[0]
            self.learner_cpu[l] = work  # its warm-up, inflated on the node, is all it is charged so far
            nodes[l].compute(self.startup, work, lambda t, l=l: self._first_pull(t, [l]))
        if self.max_seconds < math.inf:
            self.env.timeout(self.max_seconds).callbacks.append(lambda _: self._stop(self.max_seconds, "seconds"))
        try:
            with cycle_collector_paused():
                self.env.run(until=self.done)
        except RuntimeError as e:  # no event left but no stopping rule met
            raise SimError(f"simulation stalled at t = {self.env.now:g} s with no event left ({e})") from None
        finally:
            self._bar.close()
        self._settle()

    def _first_pull(self, t: float, learners: list[int]) -> None:
        """The learners' first pull requests leave at t."""
        if not learners:
            return
        t += self.net.request_delay
        for s in range(self.S):
            self._at(t, (s, [(l, None, True) for l in learners], t), self.arrive)

    def _settle(self) -> None:
        """Take off the busy counters what was booked past the end of the run, so that utilisations count
        [0, t_end] only: computes are booked whole when they start and the stopping update's message still
        answers pulls. Computes still running (or not started) at the end are read off the events still
        queued; a FIFO resource (shard, shard NIC) loses its time booked past the end, counted as if it
        worked without a pause from the end until it is free (exact unless it pauses after the end)."""
        end = self.t_end
        for t0, t1 in self._unfinished_computes():
            if t1 > end:
                self.compute_seconds -= t1 - (t0 if t0 > end else end)
        for node in dict.fromkeys(n for n in self.learner_nodes or () if n is not None):  # booked when they end
            self.compute_seconds += sum(end - t0 for t0 in node.unfinished() if t0 < end)
        for r in (*self.shards, *self.net.shard_in, *self.net.shard_out):
            if r.free > end:
                r.busy -= min(r.busy, r.free - end)

    def _unfinished_computes(self) -> Iterator[tuple[float, float]]:
        """(start, end) of each compute whose end event had not fired when the run stopped: in SimPy's queue
        (a private list: nothing public lists pending events) or in a _Burst behind its queued event."""
        pending = []
        for _, _, _, event in self.env._queue:
            for callback in event.callbacks:
                burst = getattr(callback, "__self__", None)
                if type(burst) is _Burst:
                    pending.extend((c, v) for _, v, c in burst.items[burst.i:])
                elif burst is self:
                    pending.append((callback, event.value))
        for callback, value in pending:
            if callback == self._pushed and value[3]:  # base/adv: (l, t_push, versions, pull, t0, t1)
                yield value[4], value[5]
            elif callback == self._overlap_computed:    # adv*: (l, t0, t1, t_ready)
                yield value[1], value[2]

    def _at(self, t: float, value, callback) -> None:
        """Call `callback` with an event of `value` at t (during a burst: once the burst is timed)."""
        if self._burst is not None:
            self._burst.append((t, value, callback))
            return
        env = self.env
        delay = t - env._now  # SimPy's `now` and `value` are properties: a Python call per gradient each
        if delay < 0.0:  # t is never earlier, but sums in another order may round 1 ulp below now
            delay = 0.0  # (a test, not max(): this runs once per gradient and a builtin call costs 5%)
        Timeout(env, delay, value).callbacks.append(callback)

    def _stop(self, t: float, why: str) -> None:
        if not self.stopped:
            self.stopped, self.stopped_by, self.t_end = True, why, t
            self.done.succeed()

    # --- server side --------------------------------------------------------------------

    def _arrive(self, event) -> None:
        """A scheduled message reaches its shard."""
        if not self.stopped:
            self._serve(*event._value)

    def _arrive_held(self, event) -> None:
        """adv* without a tree: a message reaches its shard, which holds it until it is done with it (inbox_slots)."""
        if not self.stopped:
            s = event._value[0]
            self._serve(*event._value)
            self.shards[s].ends.append(self.shards[s].free)

    def _serve(self, s: int, items: list, t: float) -> None:
        """Messages reach shard s at t: its receive thread takes them in, then the protocol decides and the
        shard's clock times the decisions."""
        shard = self.shards[s]
        node = shard.node
        recv, push, send, f = self.costs
        if recv:  # the sender's receive thread takes the message in before the loop sees it (runtime/inbox.py)
            g = node.factor(t) if node is not None else 1.0
            if node is not None:
                node.serve(t, t + recv * g, g)
            t += recv * g
            shard.cpu += recv
        arrived = t
        if shard.free > t:
            t = shard.free
        elif node is not None:  # its loop waits on the inbox: the receive thread wakes it (sim/cores.py)
            t += node.woken(t, handed=True)
        start = t
        if self.taken and not s:
            for l, j, _ in items:
                if j is not None:
                    self.taken[l].append((arrived, start))
        if node is not None:  # slower while the processes it shares cores with work
            f = node.factor(t)
            push, send = push * f, send * f
        if push and items[0][1] is not None:
            t += push * len(items)  # one push message, however many gradients a tree summed into it
        ps = shard.ps
        for l, j, pull in items:
            if j is None:  # a pull request
                decisions = ps.pull(l)
            elif pull:  # the pull is answered after the push is processed
                decisions = ps.push(l, j)
                decisions += ps.pull(l)  # in place: a new list per gradient costs ~1% here
            else:
                decisions = ps.push(l, j)
            burst = len(decisions) > BURST
            if burst:
                self._burst = []
            for d in decisions:
                kind = type(d)
                if kind is Send:
                    t += send
                    self._weights(s, d.learner, d.version, t)
                elif kind is Update:
                    t += shard.update_cost() * f
                    self._applied(shard, d, t)
                else:  # Hold (no learner leaves a simulated run: no BarrierShrunk)
                    self.holds += 1
                    if self.hears_holds:
                        self._hold_sent(d.learner, s, t)
            if burst:
                events, self._burst = self._burst, None
                if events:
                    events.sort(key=itemgetter(0))  # stable: ties keep their order
                    _Burst(self.env, events)
            if self.stopped:
                break
        shard.free = t
        shard.busy += t - start
        shard.cpu += (t - start) / f
        if node is not None:
            node.serve(start, t, f)

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
            times = self._times_of(update) if self.full else ()
            if times:
                self._path(update, times, t)
            self.writer.update(update, t, times)
        done = shard.ps.gradients_applied
        if done >= self._next_tick:  # ticks never pass the target, so it is checked only here
            self._bar.update(min(done, self.target) - self._bar.n)
            self._next_tick = min(done + self._tick, self.target)
            if done >= self.target:
                self._stop(t, "epochs")
        if self.max_updates is not None and shard.updates >= self.max_updates:
            self._stop(t, "updates")

    def _times_of(self, update: Update) -> list[tuple]:
        """The times of each gradient of the update (full trace), taken off the side table."""
        times = self.times
        return [times.pop((a.learner, a.step)) for a in update.gradients]

    def _path(self, update: Update, times: list[tuple], t: float) -> None:
        """Add the push path (protocol.trace.PUSH_PATH) of the update's gradients, applied at t, to the sums; `times`
        are theirs from the side table (t_push last)."""
        path, taken = self.path, self.taken
        for a, stamps in zip(update.gradients, times):
            arrived, start = taken[a.learner].popleft()
            path[0] += arrived - stamps[3]
            path[1] += start - arrived
            path[2] += t - start
        path[3] += len(times)

    # --- learner side -------------------------------------------------------------------

    def _weights(self, s: int, l: int, version: int, t: float) -> None:
        """Shard s sends `version` to learner l at t. base/adv: once every shard's weights are in, the
        learner computes from then and pushes, the next pull riding along; adv*: see `_told`."""
        net = self.net
        if net.leaf:
            arrival = net.tree_weights(s, l, version, t)
        else:
            arrival = hop(t, net.shard_bytes, net.shard_out[s], net.down[l], net.latency)[1]
        nodes = self.learner_nodes
        node = None if nodes is None else nodes[l]  # where it shares cores (None: it does not)
        if node is not None:
            arrival += node.woken(arrival)
        if self.overlap:
            self._weights_on_way(s, l, version, arrival)
            return
        # once every shard's weights are in, the machine decides ADOPT, COMPUTE, PUSH_PULL, from the last arrival
        m, t0 = self.learners[l], arrival
        if self.S > 1:  # (with one shard, no per-learner list: they are cache misses at large λ)
            ready = self.ready
            if arrival > ready[l]:
                ready[l] = arrival
            if not m.weights(s, version):
                return
            t0, ready[l] = ready[l], 0.0
        elif not m.weights(s, version):
            return
        c = self.compute_times[l] * self.jitter()
        if self.cold is not None:
            c += self.cold[l](t0 - self.ended[l])
        if self.ramp:
            t0 += self._ramp(l)
        if node is not None:  # it shares its node's cores: done when sharing says
            step, versions = m.pushes - 1, m.pushed
            work, share = node.cost(c, self.exchange)
            self._booked(l, work, share)
            node.compute(t0, work, lambda t2: self._computed(l, t0, t2, share, step, versions))
            return
        self.compute_seconds += c
        self.learner_compute_cpu[l] += c
        self.learner_cpu[l] += c + self.exchange
        t1 = t0 + c  # _computed inline: one Python call fewer per gradient
        self.ended[l] = t1
        t2 = t1 + self.exchange
        if self.full:
            self.times[(l, m.pushes - 1)] = (self.t_pull[l], t0, t1, t2)
        self._at(t2 + self.push_delay, (l, t2, m.pushed, True, t0, t1), self._pushed)

    def _ramp(self, l: int) -> float:
        """How long learner l's next compute waits to start on the ramp (ClusterSpec.ramp_until), holding no
        core. Once every learner is past it, the ramp is emptied: no call per gradient for the rest of the run."""
        ramp, i = self.ramp, self.started[l]
        if i >= len(ramp):
            return 0.0
        self.started[l] = i + 1
        if i + 1 == len(ramp):
            self.ramped += 1
            if self.ramped == self.lam:
                self.ramp = []
        return ramp[i]

    def _computed(self, l: int, t0: float, t2: float, share: float, step: int, versions: tuple[int, ...]) -> None:
        """base/adv on a shared node: learner l's gradient `step`, computed on `versions` from t0 on, leaves at t2
        (its compute the first `share` of that time, its exchange the rest)."""
        t1 = t0 + (t2 - t0) * share
        self.compute_seconds += t1 - t0
        self.ended[l] = t1
        self._carried(l)
        if self.full:
            self.times[(l, step)] = (self.t_pull[l], t0, t1, t2)
        self._at(t2 + self.push_delay, (l, t2, versions, True, t0, t1), self._pushed)

    def _pushed(self, event) -> None:
        """Learner l hands a gradient, computed on `versions`, to the network at t (base/adv: its next pull
        rides along)."""
        if self.stopped:
            return
        l, t, versions, pull, _, _ = event._value
        if pull and self.full:
            self.t_pull[l] = t
        net = self.net
        for s, j in enumerate(versions):
            item = (l, j, pull)
            if net.leaf:
                sent = net.tree_push(l, s, t, item)
                if sent is not None:  # else summed into a message already on its way
                    self._at(sent[0], (s, sent[1], sent[0]), self._arrive)
                continue
            arrival = hop(t, net.shard_bytes, net.up[l], net.shard_in[s], net.latency)[1]
            if self.contended:  # off the plain path: one test per message
                arrival = self._reached(l, s, arrival, pull, push=True)
            if self.inline:
                self._serve(s, (item,), arrival)
            else:
                self._at(arrival, (s, (item,), arrival), self.arrive)

    def _booked(self, l: int, work: float, share: float) -> None:
        """Learner l's compute and exchange on a shared node cost `work` CPU seconds, the compute `share` of it."""
        self.learner_compute_cpu[l] += work * share
        self.learner_cpu[l] += work

    def _off_path_work(self, node, offpath: float) -> list[tuple]:
        """(node, seconds) of the work off the critical path that a push of a learner on `node` (None: a node of
        its own) starts: its own `offpath`, and each shard's on a shared node. One piece per node: threads of
        several processes there are not as many processes keeping it busy."""
        work = {node: offpath} if offpath else {}
        for shard in self.offpath_shards:
            work[shard.node] = work.get(shard.node, 0.0) + self.server_offpath
        return list(work.items())

    def _carried(self, l: int) -> None:
        """Learner l's push leaves now: on a shared node, the threads that carry it work beside the critical
        path (offpath_seconds), and so do each shard's that take it in (server_offpath_seconds)."""
        for node, seconds in self.carried[l]:
            node.background(seconds)
        self.learner_cpu[l] += self.offpath[l]
        for shard in self.offpath_shards:
            shard.cpu += self.server_offpath

    def _pushed_overlap(self, event) -> None:
        """adv*: learner l's push thread sends the gradient to each shard in turn (runtime/learner.py: _push_all).
        A gloo send is a rendezvous: its bytes leave once the shard's receive thread for l has taken in l's
        message before it and posted its receive again (`channel`), which l hears a request's delay later. The
        send returns once its bytes are written and the shard found a slot for them (_reached); then the push
        thread is free (`_sent`), and a pull waiting for it leaves (`_pull_leaves`)."""
        if self.stopped:
            return
        l, t, versions = event._value[:3]
        net = self.net
        if net.leaf:  # a tree's node merges messages: no rendezvous with a shard's receive thread
            self.returns[l] = t
            self._pushed(event)
            t = net.up[l].free
        else:
            for s, j in enumerate(versions):
                ready = self.channel[s][l] + net.request_delay
                if ready > t:
                    t = ready
                self.returns[l] = t
                arrival = self._reached(l, s, hop(t, net.shard_bytes, net.up[l], net.shard_in[s], net.latency)[1],
                                        False, push=True)
                self._at(arrival, (s, ((l, j, False),), arrival), self.arrive)
                t = max(self.returns[l], net.up[l].free)
        if self.returns[l] < t:
            self.returns[l] = t
        self._at(self.returns[l], l, self._sent)

    def _pull_leaves(self, event) -> None:
        """adv*: learner l's pull threads ask every shard for weights once the pushes handed over before the pull
        are sent (runtime/learner.py: a pull never overtakes them)."""
        if self.stopped:
            return
        l = event._value
        t = max(self.env._now, self.returns[l])
        self.t_pull[l] = t
        t += self.net.request_delay
        for s in range(self.S):
            arrive = self._reached(l, s, t, True, push=False)
            self._at(arrive, (s, [(l, None, True)], arrive), self.arrive)

    def _reached(self, l: int, s: int, arrival: float, pull: bool, push: bool) -> float:
        """When learner l's message (a gradient, a pull or both), arriving at shard s at `arrival` by the network
        alone, is taken in: after the shard's receive thread for l waits for a core (busy message loop or not: the
        thread is its own; a compute holding that core loses the server's CPU for the message, sim/cores.py), and
        (adv*) not before that thread took in the message sent before it on the same connection; an adv* push that
        finds no free slot there also keeps its sender's send from returning until one is free."""
        shard = self.shards[s]
        ends = shard.ends
        if ends is not None and not pull and len(ends) == ends.maxlen and ends[0] > arrival:  # a push: see above
            self.returns[l] = max(self.returns[l], ends[0])
        if shard.node is not None:
            recv, push_cost, send, _ = self.costs
            arrival += shard.node.woken(arrival, takes=recv + push * push_cost + pull * send)
        if ends is not None:  # adv* without a tree: one connection per learner and shard
            channel = self.channel[s]
            if channel[l] > arrival:
                arrival = channel[l]
            channel[l] = arrival + self.costs[0]  # the receive thread takes it in, then posts its next receive
        return arrival

    # --- adv*: separate compute, push and pull threads ------------------------------------

    def _weights_on_way(self, s: int, l: int, version: int, arrival: float) -> None:
        """adv*: shard s's weights reach learner l at `arrival`; once every shard's are on their way, the
        learner is told at its next hand-over, or at their arrival if it waits for them (`_wake`)."""
        self.incoming[s][l] = version
        t0 = arrival
        if self.S > 1:
            ready = self.ready
            if arrival > ready[l]:
                ready[l] = arrival
            left = self.pieces[l] - 1
            if left:
                self.pieces[l] = left
                return
            t0 = ready[l]
            self.pieces[l], ready[l] = self.S, 0.0
        self.fresh_at[l] = t0
        self._wake(l, self.learners[l])

    def _wake(self, l: int, m) -> None:
        """A learner waiting for weights already on their way is told of them now, for their arrival: what
        else could reach it first (Holds of the same pull) comes before them on the same links."""
        t0 = self.fresh_at[l]
        if t0 is not None and m.compute_thread is WAITING:
            self._act(l, m, self._tell_weights(l, m), t0)

    def _hold_sent(self, l: int, s: int, t: float) -> None:
        """adv*: shard s holds learner l's pull at t; the Hold reaches it a request's delay later."""
        self.holds_due.setdefault(l, []).append((t + self.net.request_delay, s))

    def _tell_weights(self, l: int, m) -> tuple:
        """Tell learner l of its pull's weights (after the Holds that came before them on the same links)."""
        due = self.holds_due.pop(l, ())
        for _, s in due:
            m.held(s)
        self.fresh_at[l] = None
        out = ()
        for s in range(self.S):
            out = m.weights(s, self.incoming[s][l])
        return out

    def _told(self, l: int, m, t: float) -> None:
        """Tell learner l what reached it by t: Holds, then its pull's weights."""
        due = self.holds_due.get(l)
        if due:
            later = [(a, s) for a, s in due if a > t]
            for a, s in due:
                if a <= t:
                    m.held(s)
            if later:
                self.holds_due[l] = later
            else:
                del self.holds_due[l]
        fresh = self.fresh_at[l]
        if fresh is not None and fresh <= t:
            self._tell_weights(l, m)

    def _overlap_computed(self, event) -> None:
        """adv*: the gradient computed from t0 to t1 is ready (its exchange done) at `ready`: handed to the push
        thread, or it waits until the previous push is sent (`_sent`)."""
        if self.stopped:
            return
        l, t0, t1, ready = event._value
        m = self.learners[l]
        self._told(l, m, ready)
        self.handing[l] = (t0, t1)
        self._act(l, m, m.computed(), ready, t0, t1)
        self._wake(l, m)  # stopped by a Hold whose pull's weights are already on their way

    def _sent(self, event) -> None:
        """adv*: learner l's push thread is free; a gradient waiting for it is handed over now."""
        if self.stopped:
            return
        l, t = event._value, self.env._now
        m = self.learners[l]
        self._told(l, m, t)
        self._act(l, m, m.sent(), t, *self.handing[l])
        self._wake(l, m)

    def _shared_computed(self, l: int, t0: float, t2: float, share: float) -> None:
        """adv* on a shared node: the compute and exchange that sharing stretched end at t2 (the compute the
        first `share` of that time)."""
        t1 = t0 + (t2 - t0) * share
        self.compute_seconds += t1 - t0
        self.ended[l] = t1
        self._at(t2, (l, t0, t1, t2), self._overlap_computed)

    def _act(self, l: int, m, decisions: tuple, t: float, t0: float = 0.0, t1: float = 0.0) -> None:
        """Carry out learner l's decisions at t (a PUSH is of the gradient computed from t0 to t1)."""
        for d in decisions:
            if d is PUSH:
                self._carried(l)
                self._exchanged(l)
                if self.full:
                    self.times[(l, m.pushes - 1)] = (self.pulled_at[l], t0, t1, t)
                self._at(t, (l, t, m.pushed, False, t0, t1), self._pushed_overlap)
            elif d is ADOPT:
                self.pulled_at[l] = self.t_pull[l]
            elif d is PULL:  # after a PUSH decided with it, whose event comes first at t
                self._at(t, l, self._pull_leaves)
            else:  # COMPUTE: the exchange is its push and pull threads' (_exchanged), not the compute thread's
                c, start = self.compute_times[l] * self.jitter(), t
                if self.cold is not None:
                    c += self.cold[l](t - self.ended[l])
                if self.ramp:
                    start += self._ramp(l)
                nodes = self.learner_nodes
                if nodes is not None and nodes[l] is not None:
                    work, share = nodes[l].cost(c)
                    self._booked(l, work, share)
                    nodes[l].compute(start, work,
                                     lambda t2, t0=start, share=share: self._shared_computed(l, t0, t2, share))
                else:
                    self.compute_seconds += c
                    self.learner_compute_cpu[l] += c
                    self.learner_cpu[l] += c
                    self.ended[l] = start + c
                    self._at(start + c, (l, start, start + c, start + c), self._overlap_computed)

    def _exchanged(self, l: int) -> None:
        """adv*: learner l hands a gradient to its push thread. Its exchange (sending it, taking in the next
        weights) is that thread's and its pull threads' CPU, beside its computes: on a shared node core time,
        inflated as there (sim/cores.py), and never on its compute thread's way."""
        nodes = self.learner_nodes
        node = nodes[l] if nodes is not None else None
        work = self.exchange * (node.exchange_inflation if node is not None else 1.0)
        if node is not None and work:
            node.background(work)
        self.learner_cpu[l] += work
