"""Synchronization rules written once: sans-I/O server and learner machines, protocol rules, LR policies, trace format."""
from .events import (Applied, BarrierShrunk, Decision, Event, Hold, Join, Leave, ProtocolError, Pull, Push, Send,
                     Update)
from .learner import OverlapLearner, SerialLearner, learner_class, new_learner
from .lr import LrSchedule, make_policy
from .server import COMPUTING, GONE, HELD, IDLE, ParameterServer, inbox_slots
from .spec import ARCHITECTURES, LR_POLICIES, PROTOCOLS, ProtocolSpec, TrainSpec
from .trace import SCHEMA, TraceWriter, binned_histogram, read_run_json, staleness_summary, write_run_json

__all__ = [
    "Applied", "BarrierShrunk", "Decision", "Event", "Hold", "Join", "Leave", "ProtocolError", "Pull", "Push", "Send",
    "Update", "OverlapLearner", "SerialLearner", "learner_class", "new_learner", "LrSchedule", "make_policy",
    "COMPUTING", "GONE", "HELD", "IDLE", "ParameterServer", "inbox_slots", "ARCHITECTURES",
    "LR_POLICIES", "PROTOCOLS", "ProtocolSpec", "TrainSpec", "SCHEMA", "TraceWriter", "binned_histogram",
    "read_run_json", "staleness_summary", "write_run_json",
]
