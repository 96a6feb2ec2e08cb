"""Real training on torch.distributed: shard servers and learners driving protocol/ with real messages."""
from .errors import LaunchError
from .spec import RuntimeSpec

__all__ = ["LaunchError", "RuntimeSpec"]
