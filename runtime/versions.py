"""What run.json records about the machine a real run used."""
from __future__ import annotations

import torch

from rudra.protocol.trace import machine as host


def machine() -> dict:
    """Host, platform and CPU count (as a simulated run records them), torch's threads and the CUDA devices of
    the process that writes the trace."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return host(torch_threads=torch.get_num_threads(), cuda=[torch.cuda.get_device_name(i) for i in range(count)])
