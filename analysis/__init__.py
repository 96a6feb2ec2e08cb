"""Reads traces from either side, summarises, compares sim vs real, draws the plots."""
from .trace import Trace, TraceError, read_csv, read_trace

__all__ = ["Trace", "TraceError", "read_csv", "read_trace"]
