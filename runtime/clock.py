"""Shard 0's run clock as a learner sees it, so that learner times in the trace line up with the server's.

Each reply from shard 0 carries its run clock when sent; the learner reads
time.monotonic() once it has the reply. Their difference is the offset
between the two clocks less the reply's delay in flight (the server's send,
the link, the learner's wake-up), never more. So the largest difference seen
is the best estimate (Cristian's rule). The latest one would move every
learner time back by that reply's delay, which on a loaded node is the
learner's wait for a core: learners would seem never to wait, and their
pushes would seem that much slower to be received. The largest is taken over
the last WINDOW replies only: under torchrun the two clocks are different
machines' and drift apart by a few ppm, milliseconds over an hour, which a
maximum kept since the start would never follow.
"""
from __future__ import annotations

from collections import deque

WINDOW = 256  # replies: at ms cycles a fraction of a second, long enough that one reply came through fast


class ShardClock:
    """The offset of shard 0's run clock from this process's time.monotonic(), from the latest replies."""

    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=WINDOW)
        self.offset: float | None = None

    def heard(self, sent: float, now: float) -> None:
        """A reply stamped `sent` on shard 0's clock arrived at `now` (time.monotonic())."""
        sample = sent - now
        dropped = self.samples[0] if len(self.samples) == WINDOW else None
        self.samples.append(sample)
        if self.offset is None or sample >= self.offset:
            self.offset = sample
        elif dropped == self.offset:  # the best sample left the window: rescan (rare)
            self.offset = max(self.samples)

    def at(self, t: float) -> float:
        """Monotonic time t on shard 0's clock (after the first reply: learner times are taken after it)."""
        if self.offset is None:
            raise RuntimeError("no reply from shard 0 yet: its clock is unknown")
        return t + self.offset
