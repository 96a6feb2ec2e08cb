"""SimPy model of a Rudra cluster that drives protocol/ and writes a trace directory (docs/DESIGN.md, Traces)."""
from .errors import SimError
from .run import simulate
from .spec import ClusterSpec, SimSpec

__all__ = ["ClusterSpec", "SimError", "SimSpec", "simulate"]
