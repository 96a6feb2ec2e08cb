"""Where a net computes: `[runtime] device` checked against this machine, for both drivers (a real run's
learners, and numerics mode's single process)."""
from __future__ import annotations

import torch


def device_problem(device: str) -> str | None:
    """Why `device` ("cpu", "cuda" or "cuda:N", already well-formed) cannot compute here, in one line; None if it can."""
    if device == "cpu":
        return None
    if not torch.cuda.is_available():
        return f"runtime.device = {device!r}: CUDA is not available on this machine (use \"cpu\")"
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        return f"runtime.device = {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
    return None
