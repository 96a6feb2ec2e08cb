"""The server's receive side: messages from any rank, received on a thread into a small pool of buffers.

The server must wait for "any message, or a deadline": gloo's own timeouts
close every connection when they fire, so they are left for fatal waits only
(the process group's timeout). Here a thread blocks in a receive from any
source and hands whole messages over a queue; the server waits on the queue
with its own deadline and judges liveness from each rank's last arrival.
"""
from __future__ import annotations

import queue
import threading
import time

import torch.distributed as dist

from .wire import Message


class Inbox:
    """Whole messages from any rank, in arrival order; `floats` is the largest payload expected."""

    def __init__(self, floats: int, buffers: int):
        self._floats, self._limit, self._made = floats, buffers, 0
        self._free: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        self.last_seen: dict[int, float] = {}  # rank -> time.monotonic() of its last message
        threading.Thread(target=self._receive, name="rudra-inbox", daemon=True).start()

    def _buffer(self) -> Message:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            if self._made < self._limit:
                self._made += 1
                return Message(self._floats)
            return self._free.get()

    def _receive(self) -> None:
        while True:
            msg = self._buffer()
            try:
                msg.source = dist.recv(msg.buf)  # from any source: returns the sender's rank
            except Exception as error:  # the process group broke: the server hears of it in get()
                self._ready.put(error)
                return
            msg.arrived = time.monotonic()
            self.last_seen[msg.source] = msg.arrived
            self._ready.put(msg)

    def get(self, timeout: float) -> Message | None:
        """The next message, or None if none arrives within `timeout` seconds."""
        try:
            item = self._ready.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if isinstance(item, Exception):
            raise item
        return item

    def release(self, msg: Message) -> None:
        """Give a message's buffer back for the next receive."""
        self._free.put(msg)
