"""What run.json records about the machine a real run used."""
from __future__ import annotations

import os
import platform
import socket

import torch


def machine() -> dict:
    """Host, platform, CPU count and CUDA devices of the process that writes the trace."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cuda = [torch.cuda.get_device_name(i) for i in range(count)]
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(), "cuda": cuda}
