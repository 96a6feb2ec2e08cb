"""Links, NICs and the optional aggregation tree, computed analytically (no events).

Sharing model: **FIFO serialisation at each end's own rate**. Every NIC
direction (in, out) serves the messages handed to it one at a time, in order,
and a message occupies each end for bytes ÷ that end's rate; the two ends are
independent queues, and the message is delivered `latency` after the later of
them is done with it:

    a.free = max(t_send, a.free) + bytes/rate_a
    b.free = max(t_send, b.free) + bytes/rate_b
    delivered = max(a.free, b.free) + latency

Alone on a link a message thus takes latency + bytes/min(rate) exactly; k
messages handed at once to one NIC are delivered after latency + i·bytes/rate,
i = 1..k (fair sharing would deliver all at latency + k·bytes/rate). A fast NIC
serves many slower peers at once: m messages from learners on links of rate r
to a server NIC of rate R ≥ m·r all arrive bytes/r after they leave, and in
general the server carries min(R, Σ link rates). Two ends of equal rate deliver
exactly as one shared FIFO would. Infinite NICs (bandwidth left out) are never busy. Pull requests are tiny: they cost
latency per hop, never queue, and ride along with the push they follow.

Tree (adv, adv*, `fan_in` = k): learners are the leaves, ⌈λ/k⌉ aggregators
above them, ⌈λ/k²⌉ above those, until at most k nodes talk to each shard.
Aggregators have the learners' link bandwidth. Going up, a gradient that
reaches an aggregator before its previous message to that shard has started
is summed into it (same size, no extra transfer); going down, an aggregator
that already holds (or is receiving) the requested version of a shard forwards
that copy instead of asking its parent again.
"""
from __future__ import annotations

import math

INF = math.inf  # a module constant: hop() runs twice per gradient


class Nic:
    """One direction of a network interface: its rate, when it is next free, and, if `metered` (the
    shards' NICs, whose utilisation the summary reports), how long it was busy. Learner NICs are not
    metered: at large λ their counters are cache misses the run would pay for twice per gradient."""

    __slots__ = ("rate", "free", "busy", "metered")

    def __init__(self, rate: float | None, metered: bool = False):
        self.rate = INF if rate is None else float(rate)
        self.free = 0.0
        self.busy = 0.0
        self.metered = metered


def hop(t: float, nbytes: float, a: Nic, b: Nic, latency: float) -> tuple[float, float]:
    """Send `nbytes` from `a` to `b`, handed over at t: (start, delivery); each end serves FIFO at its own rate,
    and the transfer starts once both ends have begun on it."""
    start = end = t
    rate = a.rate
    if rate != INF:
        if a.free > start:
            start = a.free
        d = nbytes / rate
        end = a.free = start + d
        if a.metered:
            a.busy += d
    rate = b.rate
    if rate != INF:
        d = nbytes / rate
        done = b.free
        if done > t:  # b still serves earlier messages: it takes this one when done with them
            if done > start:
                start = done
            done += d
        else:
            done = t + d
        b.free = done
        if b.metered:
            b.busy += d
        if done > end:
            end = done
    return start, end + latency


class Aggregator:
    """A tree node: its NIC, its parent (None: talks to the shards), and per-shard pending/cached state."""

    __slots__ = ("nic_in", "nic_out", "parent", "pending", "cache")

    def __init__(self, bandwidth: float | None, shards: int):
        self.nic_in, self.nic_out = Nic(bandwidth), Nic(bandwidth)
        self.parent: Aggregator | None = None
        self.pending: list[tuple[float, list] | None] = [None] * shards   # (start, message list) going up
        self.cache: list[tuple[int, float] | None] = [None] * shards      # (version, arrival) coming down


def build_tree(learners: int, fan_in: int, bandwidth: float | None, shards: int) -> list[Aggregator]:
    """The leaf aggregator of every learner ([] when λ ≤ k: learners talk to the shards)."""
    leaves: list[Aggregator] = []
    level: list[Aggregator] | None = None
    width = learners
    while width > fan_in:
        width = -(-width // fan_in)
        nodes = [Aggregator(bandwidth, shards) for _ in range(width)]
        if level is None:
            leaves = [nodes[l // fan_in] for l in range(learners)]
        else:
            for i, child in enumerate(level):
                child.parent = nodes[i // fan_in]
        level = nodes
    return leaves


class Network:
    """The NICs (learner links, one pair per shard) and the optional tree: a direct message is one hop()
    between two of these NICs; tree_push and tree_weights time the routes through the tree."""

    def __init__(self, learners: int, shards: int, shard_bytes: float, latency: float, bandwidth: float | None,
                 server_bandwidth: float | None, fan_in: int | None):
        self.shard_bytes, self.latency = shard_bytes, latency
        if bandwidth is None:
            shared = Nic(None)  # infinite NICs keep no state, so one object serves every learner
            self.up = self.down = [shared] * learners
        else:
            self.up = [Nic(bandwidth) for _ in range(learners)]
            self.down = [Nic(bandwidth) for _ in range(learners)]
        self.shard_in = [Nic(server_bandwidth, metered=True) for _ in range(shards)]
        self.shard_out = [Nic(server_bandwidth, metered=True) for _ in range(shards)]
        self.leaf = build_tree(learners, fan_in, bandwidth, shards) if fan_in else []
        depth, node = 0, self.leaf[0] if self.leaf else None
        while node is not None:
            depth, node = depth + 1, node.parent
        self.request_delay = latency * (depth + 1)
        # Unqueued time from handing a push (first shard's slice) to its arrival, without a tree.
        rate = min(self.up[0].rate if learners else INF, self.shard_in[0].rate)
        self.first_hop = (shard_bytes / rate if rate < INF else 0.0) + latency

    def tree_push(self, learner: int, shard: int, t: float, item) -> tuple[float, list] | None:
        """Hand `item` (a gradient for `shard`) to the tree at `t`: (delivery, new message) or None when it
        was summed into a message already on its way. Without a tree a message is one hop(), which the
        cluster times itself (one call per message on its hot path)."""
        b, lat = self.shard_bytes, self.latency
        agg = self.leaf[learner]
        t = hop(t, b, self.up[learner], agg.nic_in, lat)[1]
        started: list[tuple[Aggregator, float]] = []
        message = None
        while agg is not None:
            pending = agg.pending[shard]
            if pending is not None and t < pending[0]:
                message = pending[1]
                message.append(item)
                break
            start, t = hop(t, b, agg.nic_out, agg.parent.nic_in if agg.parent else self.shard_in[shard], lat)
            started.append((agg, start))
            agg = agg.parent
        new = message is None
        if new:
            message = [item]
        for node, start in started:
            node.pending[shard] = (start, message)
        return (t, message) if new else None

    def tree_weights(self, shard: int, learner: int, version: int, t: float) -> float:
        """Delivery time at `learner` of `shard`'s weights of `version`, sent at `t` down the tree."""
        agg = self.leaf[learner]
        return hop(self._fetch(agg, shard, version, t), self.shard_bytes, agg.nic_out, self.down[learner],
                   self.latency)[1]

    def _fetch(self, agg: Aggregator, shard: int, version: int, t: float) -> float:
        """When `agg` holds `version` of `shard`: from its cache, else fetched through its parents."""
        cached = agg.cache[shard]
        if cached is not None and cached[0] == version:
            return cached[1]
        if agg.parent is None:
            src_t, src = t, self.shard_out[shard]
        else:
            src_t, src = self._fetch(agg.parent, shard, version, t), agg.parent.nic_out
        arrival = hop(src_t, self.shard_bytes, src, agg.nic_in, self.latency)[1]
        agg.cache[shard] = (version, arrival)
        return arrival
