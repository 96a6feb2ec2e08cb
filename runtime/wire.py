"""Message framing: every message is one flat uint8 tensor, a float64 header then a float32 payload.

One tensor per message means a receive from any source always gets one whole
message from one sender (gloo delivers a shorter message into a longer buffer,
so a receiver posts one buffer big enough for the largest message it expects).
The header says what the message is; nothing received is ever unpickled.

Header slots (float64, exact for integers below 2**53):
  KIND     one of the kinds below
  LEARNER  the learner a message is from (or, for SLICE, the sending shard)
  VERSION  PUSH: version the gradient was computed on; WEIGHTS/SLICE: version of the weights
  STEP     PUSH: the learner's gradient counter; WEIGHTS: the step the learner starts from;
           SLICE: evaluation index (-1 = final)
  T0..T3   PUSH: t_pull, t_compute_start, t_compute_end, t_push (server clock)
  FLAG     PUSH: 1 if a pull rides along (base, adv)
  VALUE    PUSH: the minibatch's training loss; WEIGHTS: server clock when sent
  CPU      PUSH: the learner process's CPU seconds since its loop began (what a gradient costs it besides
           the compute: rudra calibrate reads it off run.json)
  COMPUTE_CPU  PUSH: the CPU seconds of its computes so far (each timed on the thread that ran it), so
           that CPU minus this is what its exchanges cost, free of the computes' own noise
"""
from __future__ import annotations

import torch

KIND, LEARNER, VERSION, STEP, T0, T1, T2, T3, FLAG, VALUE, CPU, COMPUTE_CPU = range(12)
HEADER_BYTES = 8 * 12
# Learner → server.
PULL = 1     # asks for weights
PUSH = 2     # a gradient slice (payload)
BYE = 3      # sends nothing more (another shard stopped it)
# Server → learner.
WEIGHTS = 4  # the weights slice (payload)
STOP = 5     # the run is complete
ABORT = 6    # the run failed; payload = UTF-8 reason
# Shard → shard 0.
SLICE = 7    # a weights slice for evaluation (payload)
# Server → learner.
HOLD = 8     # the protocol holds its pull; the weights follow later (sent to learners whose machine hears holds)


class Message:
    """A reusable send/receive buffer: `header` (float64 slots) and `payload` (float32) view one uint8 tensor."""

    __slots__ = ("buf", "header", "payload", "source", "arrived", "taken")

    def __init__(self, floats: int):
        self.buf = torch.zeros(HEADER_BYTES + 4 * floats, dtype=torch.uint8)
        self.header = self.buf[:HEADER_BYTES].view(torch.float64)
        self.payload = self.buf[HEADER_BYTES:].view(torch.float32)
        self.source = -1     # rank it came from (set by the receiver)
        self.arrived = 0.0   # time.monotonic() at arrival (set by the receiver)
        self.taken = 0.0     # time.monotonic() when the server's message loop took it from the inbox

    def frame(self, floats: int = 0) -> torch.Tensor:
        """The bytes to send: the header and the first `floats` payload values."""
        return self.buf[:HEADER_BYTES + 4 * floats]

    def set(self, kind: int, learner: int = 0, version: int = 0, step: int = 0, times=(), flag: float = 0.0,
            value: float = 0.0, cpu: float = 0.0, compute_cpu: float = 0.0) -> Message:
        """Fill the whole header (times go to T0..T3)."""
        slots = [kind, learner, version, step, *times, *(0.0,) * (4 - len(times)), flag, value, cpu, compute_cpu]
        self.header.copy_(torch.tensor(slots, dtype=torch.float64))
        return self

    def kind(self) -> int:
        return int(self.header[KIND])

    def ints(self) -> tuple[int, int, int, int]:
        """(kind, learner, version, step)."""
        return tuple(int(v) for v in self.header[:4].tolist())

    def times(self) -> tuple[float, float, float, float]:
        """T0..T3."""
        return tuple(self.header[T0:T3 + 1].tolist())

    def slot(self, index: int) -> float:
        return float(self.header[index])

    def set_text(self, text: str) -> int:
        """Write UTF-8 `text` into the payload; returns the payload length (floats) to send."""
        data = text.encode()[:4 * len(self.payload) - 4]
        raw = self.buf[HEADER_BYTES:]
        raw[:4].view(torch.int32)[0] = len(data)
        if data:
            raw[4:4 + len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        return 1 + (len(data) + 3) // 4

    def text(self) -> str:
        """The UTF-8 text `set_text` wrote."""
        raw = self.buf[HEADER_BYTES:]
        n = int(raw[:4].view(torch.int32)[0])
        return bytes(raw[4:4 + n].tolist()).decode(errors="replace")
