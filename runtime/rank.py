"""One process's part in a run: join the process group and play the role the layout gives its rank.

The same under the local launcher (runtime/local.py, which passes its store
and a heartbeat) and under torchrun (rendezvous from torchrun's environment).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

import torch
import torch.distributed as dist

from .errors import LaunchError, first_line
from .learner import Learner, OverlapLearner
from .plan import Plan
from .server import ShardServer

RENDEZVOUS_SECONDS = 120.0  # spawned processes must import torch and connect within this
LEAVE_SECONDS = 5.0         # a torchrun server waits this long for its peers to close before leaving the group
SERVER_GLOO_SECONDS = 10 * 365 * 86400.0  # never: servers wait with their own deadlines (runtime.timeout)


def learner_device(device: str, index: int) -> torch.device:
    """The device learner `index` computes on: "cuda" spreads learners (or local ranks) over the GPUs."""
    if device != "cuda":
        return torch.device(device)
    local = int(os.environ.get("LOCAL_RANK", index))
    return torch.device("cuda", local % torch.cuda.device_count())


def run_rank(plan: Plan, rank: int, store, alive: Callable[[], None] | None = None) -> dict | None:
    """Join the process group and play this rank's role; shard 0 returns its run.json. `alive` is called from
    a server's message loop at least every second (the local launcher's heartbeat)."""
    world = plan.layout.world
    if store is None and int(os.environ["WORLD_SIZE"]) != world:
        raise LaunchError(f"torchrun started {os.environ['WORLD_SIZE']} processes; this config needs {world} "
                          f"(protocol.shards {plan.protocol.shards} + protocol.learners {plan.protocol.learners})")
    torch.set_num_threads(plan.runtime.threads)
    role, index = plan.layout.role(rank)
    # A gloo timeout closes every connection of the process: servers judge liveness themselves and never let
    # one fire; a learner's fires when its server is silent for `plan.wait` seconds, and it exits.
    timeout = timedelta(seconds=SERVER_GLOO_SECONDS if role == "server" else plan.wait)
    backend = plan.runtime.backend
    try:
        if store is None:
            dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world, timeout=timeout)
        else:
            dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=timeout)
    except Exception as error:
        raise LaunchError(f"rank {rank}: rendezvous failed: {first_line(error)}") from None
    if role == "server":
        server = ShardServer(plan, index, alive)
        try:
            return server.run()
        finally:  # under torchrun this process goes on: leave the group cleanly once the peers are gone
            if store is None and server.inbox.wait_closed(LEAVE_SECONDS):
                dist.destroy_process_group()
    learner = OverlapLearner if plan.protocol.architecture == "adv*" else Learner
    learner(plan, index, learner_device(plan.runtime.device, index)).run()
    if store is None:
        dist.destroy_process_group()
    return None
