"""Real training on torch.distributed: shard servers and learners driving protocol/ with real messages.

`train` loads lazily, so `from runtime import RuntimeSpec` (the config loader) never imports torch.
"""
from .errors import LaunchError
from .spec import RuntimeSpec

__all__ = ["LaunchError", "RuntimeSpec", "train"]


def __getattr__(name: str):
    if name == "train":
        from .launch import train
        return train
    raise AttributeError(f"module 'rudra.runtime' has no attribute {name!r}")
