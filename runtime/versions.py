"""What run.json records about the machine a real run used."""
from __future__ import annotations

import torch

from rudra.protocol.trace import machine as host

PROC_STAT = "/proc/stat"


def machine() -> dict:
    """Host, platform and CPU count (as a simulated run records them), torch's threads and the CUDA devices of
    the process that writes the trace."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return host(torch_threads=torch.get_num_threads(), cuda=[torch.cuda.get_device_name(i) for i in range(count)])


def cpu_ticks(path: str = PROC_STAT) -> tuple[int, int] | None:
    """(stolen, total) ticks of this machine's CPUs so far, from the "cpu" line of /proc/stat (its eighth
    count is the time a hypervisor ran something else while a virtual CPU wanted to run); None where no such
    file or line is readable (not Linux)."""
    try:
        with open(path) as f:
            fields = next((line.split() for line in f if line.startswith("cpu ")), None)
    except OSError:
        return None
    try:
        counts = [int(x) for x in fields[1:9]] if fields else []
    except ValueError:
        return None
    return (counts[7], sum(counts)) if len(counts) == 8 else None


def stolen(since: tuple[int, int] | None, now: tuple[int, int] | None) -> float | None:
    """The share of this machine's CPU time the hypervisor took between two `cpu_ticks` readings: a run that
    met a busy host ran slower than the machine it was calibrated on, whatever the model. None without both
    readings or with no tick between them."""
    if since is None or now is None or now[1] <= since[1]:
        return None
    return (now[0] - since[0]) / (now[1] - since[1])
