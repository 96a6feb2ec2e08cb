"""The server's receive side: one thread per peer rank, each receiving that peer's whole messages in turn.

The server must wait for "a message from anyone, or a deadline". gloo's own
timeouts close every connection of the process when they fire, and its
receive-from-any-source fails for good once a peer dies with a send in flight,
so neither is used: each peer has a thread blocked in a receive from that
peer only (a dead peer ends its own thread and nothing else), whole messages
go to one queue in arrival order, and the server waits on the queue with its
own deadline, judging liveness from each peer's last arrival.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import torch.distributed as dist

from .errors import first_line
from .wire import Message


@dataclass(frozen=True)
class Closed:
    """The connection to `rank` failed (the peer exited or died); nothing more comes from it."""

    rank: int
    why: str


class Inbox:
    """Whole messages from `sources` (ranks), in arrival order; `floats` is the largest payload expected.

    Each source's thread holds one buffer while it waits, so at most
    len(sources) + `spare` buffers exist (the spare ones hold messages the
    server keeps, such as buffered gradients).
    """

    def __init__(self, sources: list[int], floats: int, spare: int):
        self._floats, self._limit, self._made = floats, len(sources) + spare, 0
        self._lock = threading.Lock()
        self._free: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self.last_seen: dict[int, float] = {}  # rank -> time.monotonic() of its last message
        self._threads = [threading.Thread(target=self._receive, args=(rank,), name=f"rudra-recv-{rank}", daemon=True)
                         for rank in sources]
        for thread in self._threads:
            thread.start()

    def _buffer(self) -> Message:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                make = self._made < self._limit
                self._made += make
            return Message(self._floats) if make else self._free.get()

    def _receive(self, rank: int) -> None:
        while True:
            msg = self._buffer()
            try:
                dist.recv(msg.buf, src=rank)
            except Exception as error:
                self._ready.put(Closed(rank, first_line(error)))
                return
            msg.source, msg.arrived = rank, time.monotonic()
            self.last_seen[rank] = msg.arrived
            self._ready.put(msg)

    def get(self, timeout: float) -> Message | Closed | None:
        """The next message (or news of a closed connection), or None if nothing comes within `timeout` s."""
        try:
            return self._ready.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def release(self, msg: Message) -> None:
        """Give a message's buffer back for the next receive."""
        self._free.put(msg)

    def wait_closed(self, seconds: float) -> bool:
        """Wait up to `seconds` for every peer to close its connection (so the process group can be torn down
        with no receive pending); True if all did."""
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
