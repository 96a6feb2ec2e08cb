"""Reads traces from either side, summarises, compares sim vs real, draws the plots."""
from .summary import CORE, summarize
from .trace import Trace, TraceError, read_csv, read_trace

__all__ = ["CORE", "Trace", "TraceError", "read_csv", "read_trace", "summarize"]
