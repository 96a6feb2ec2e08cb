"""The server's receive side: one thread per peer rank, each receiving that peer's whole messages in turn.

The server must wait for "a message from anyone, or a deadline". gloo's own
timeouts close every connection of the process when they fire, and its
receive-from-any-source fails for good once a peer dies with a send in flight,
so neither is used: each peer has a thread blocked in a receive from that
peer only (a dead peer ends its own thread and nothing else), whole messages
go to one queue in arrival order, and the server waits on the queue with its
own deadline, judging liveness from each peer's last arrival.

Buffers come from a pool made as needed up to a limit: one per peer being
received into, one per peer waiting in the queue, and the gradients the
protocol may keep buffered. A receive that finds the pool empty waits for a
buffer (its peer's send waits meanwhile: back-pressure) while the server
keeps freeing buffers; once it has freed none for `timeout` seconds the
inbox reports Starved and receives nothing more from that peer, so no
receive ever blocks without a deadline.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import torch.distributed as dist

from rudra.protocol import inbox_slots

from .wire import Message


@dataclass(frozen=True)
class Closed:
    """The connection to `rank` failed (the peer exited or died); nothing more comes from it."""

    rank: int


@dataclass(frozen=True)
class Starved:
    """No buffer came free for `seconds` to receive from `rank` into: the server freed none of the `pool`
    buffers (held by its queue and the messages it keeps) all that time."""

    rank: int
    pool: int
    seconds: float

    def __str__(self) -> str:
        return (f"no receive buffer came free within {self.seconds:g} s (all {self.pool} held: queued messages "
                f"and buffered gradients)")


class Inbox:
    """Whole messages from `sources` (ranks), in arrival order; `floats` is the largest payload expected.

    `kept` bounds the messages the server holds on to after taking them
    (buffered gradients: the protocol applies them once it holds c, so c at
    the start bounds them); `timeout` is how long the server may free no
    buffer while a receive waits for one before the inbox reports Starved.
    """

    def __init__(self, sources: list[int], floats: int, kept: int, timeout: float):
        self._floats, self._made = floats, 0
        self.pool = inbox_slots(len(sources), kept)
        self._timeout = timeout
        self._freed = time.monotonic()  # when the server last gave a buffer back
        self._lock = threading.Lock()
        self._free: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self.last_seen: dict[int, float] = {}  # rank -> time.monotonic() of its last message
        self._threads = [threading.Thread(target=self._receive, args=(rank,), name=f"rudra-recv-{rank}", daemon=True)
                         for rank in sources]
        for thread in self._threads:
            thread.start()

    def _buffer(self) -> Message | None:
        """A free buffer (made if the pool is not complete yet), or None once the server has freed none for
        `timeout` seconds while this receive waited (buffers it freed to other receives count as progress)."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self.pool
                self._made += make
            if make:
                return Message(self._floats)
        since = time.monotonic()
        while (wait := max(since, self._freed) + self._timeout - time.monotonic()) > 0:
            try:
                return self._free.get(timeout=wait)
            except queue.Empty:
                pass
        return None

    def _receive(self, rank: int) -> None:
        while True:
            msg = self._buffer()
            if msg is None:
                self._ready.put(Starved(rank, self.pool, self._timeout))
                return
            try:
                dist.recv(msg.buf, src=rank)
            except Exception:  # gloo's text adds nothing to "closed its connection"
                self._ready.put(Closed(rank))
                return
            msg.source, msg.arrived = rank, time.monotonic()
            self.last_seen[rank] = msg.arrived
            self._ready.put(msg)

    def get(self, timeout: float) -> Message | Closed | Starved | None:
        """The next message (or news of a closed connection), or None if nothing comes within `timeout` s."""
        try:
            return self._ready.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def release(self, msg: Message) -> None:
        """Give a message's buffer back for the next receive."""
        self._freed = time.monotonic()
        self._free.put(msg)

    def wait_closed(self, seconds: float) -> bool:
        """Wait up to `seconds` for every peer to close its connection (so the process group can be torn down
        with no receive pending); True if all did."""
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
