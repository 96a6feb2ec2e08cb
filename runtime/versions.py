"""What run.json records about the software and the machine a real run used."""
from __future__ import annotations

import os
import platform
import socket
from importlib import metadata

import numpy as np
import torch


def versions() -> dict:
    """Versions of rudra, python, torch and numpy."""
    try:
        rudra = metadata.version("rudra")
    except metadata.PackageNotFoundError:
        rudra = None
    return {"rudra": rudra, "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}


def machine() -> dict:
    """Host, platform, CPU count and CUDA devices of the process that writes the trace."""
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    cuda = [torch.cuda.get_device_name(i) for i in range(count)]
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(), "cuda": cuda}
