"""Starting a run: every role on this machine (spawned processes on 127.0.0.1, the default), or this process's
role under torchrun.

Local: this process hosts the rendezvous store on 127.0.0.1 (runtime.port, 0 =
a free one), starts S + λ processes (torch.multiprocessing's forkserver: torch
is imported once, not once per process), supervises them and returns the
run.json shard 0 wrote; a server that fails ends the run with its one-line reason.
torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set): rendezvous uses
torchrun's environment, the world must be S + λ processes, each rank takes
the role runtime/layout.py gives it, and only shard 0 returns its run.json.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from datetime import timedelta
from multiprocessing.connection import wait as wait_any
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rudra.models import load_dataset
from rudra.models.size import spec_parameter_count
from rudra.models.spec import DataSpec, ModelSpec
from rudra.protocol import ProtocolSpec, TrainSpec, read_run_json
from rudra.protocol.spec import first_problem

from .errors import LaunchError, first_line
from .layout import Layout
from .learner import Learner, OverlapLearner
from .plan import Plan
from .server import ShardServer
from .spec import RuntimeSpec

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
RENDEZVOUS_SECONDS = 120.0  # spawned processes must import torch and connect within this
EXIT_GRACE = 5.0            # seconds learners get to exit after their server is done
SERVER_GLOO_SECONDS = 10 * 365 * 86400.0  # never: servers wait with their own deadlines (runtime.timeout)


def train(protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, runtime: RuntimeSpec, *,
          seed: int, out: Path, config: dict, progress: bool, resume: bool = False) -> dict | None:
    """Train for real; returns what shard 0 wrote to run.json (None on the ranks that do not write the trace).
    rudra.analysis.summarize(out) gives the summary (the runner stores it in run.json)."""
    plan = make_plan(protocol, train, model, data, runtime, seed=seed, out=Path(out), config=config,
                     progress=progress, resume=resume)
    if all(k in os.environ for k in TORCHRUN_ENV):
        return run_rank(plan, int(os.environ["RANK"]), store=None)
    return run_local(plan)


def make_plan(protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, runtime: RuntimeSpec, *,
              seed: int, out: Path, config: dict, progress: bool, resume: bool) -> Plan:
    """Check what the launch needs (specs, device, fault target, data) and fix the run's shape."""
    problem = first_problem([("protocol", protocol.invalid()), ("train", train.invalid()), ("model", model.invalid()),
                             ("data", data.invalid()), ("runtime", runtime.invalid()),
                             ("runtime", runtime.invalid_with(protocol)), ("model", model.invalid_with(data))])
    if problem:
        raise LaunchError(problem)
    check_device(runtime.device)
    dataset = load_dataset(data, seed)
    layout = Layout.of(protocol.shards, protocol.learners, runtime.server_ranks)
    return Plan(protocol, train, model, data, runtime, seed, out, config, progress, resume, layout,
                train_samples=len(dataset.train_y), input_shape=dataset.input_shape, classes=dataset.classes,
                parameters=spec_parameter_count(model, dataset.input_shape, dataset.classes))


def check_device(device: str) -> None:
    """LaunchError unless learners can compute on `device` here."""
    if device == "cpu":
        return
    if not torch.cuda.is_available():
        raise LaunchError(f"runtime.device = {device!r}: CUDA is not available on this machine (use \"cpu\")")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise LaunchError(f"runtime.device = {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def learner_device(device: str, index: int) -> torch.device:
    """The device learner `index` computes on: "cuda" spreads learners (or local ranks) over the GPUs."""
    if device != "cuda":
        return torch.device(device)
    local = int(os.environ.get("LOCAL_RANK", index))
    return torch.device("cuda", local % torch.cuda.device_count())


# --- one rank ---------------------------------------------------------------------------------------------

def run_rank(plan: Plan, rank: int, store) -> dict | None:
    """Join the process group and play this rank's role; shard 0 returns its run.json."""
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
        server = ShardServer(plan, index)
        try:
            return server.run()
        finally:  # under torchrun this process goes on: leave the group cleanly once the peers are gone
            if store is None and server.inbox.wait_closed(EXIT_GRACE):
                dist.destroy_process_group()
    learner = OverlapLearner if plan.protocol.architecture == "adv*" else Learner
    learner(plan, index, learner_device(plan.runtime.device, index)).run()
    if store is None:
        dist.destroy_process_group()
    return None


# --- local launch ------------------------------------------------------------------------------------------

def run_local(plan: Plan) -> dict:
    """Spawn every role on this machine, supervise them, return the run.json shard 0 wrote."""
    port = plan.runtime.port
    try:
        store = dist.TCPStore("127.0.0.1", port, None, True, timedelta(seconds=RENDEZVOUS_SECONDS),
                              wait_for_workers=False)
    except Exception:
        raise LaunchError(f"runtime.port = {port}: port {port} on 127.0.0.1 is in use (0 picks a free one)") from None
    ctx = mp.get_context("forkserver")  # one process imports torch, the children fork from it: fast starts
    ctx.set_forkserver_preload(["rudra.runtime.launch", "rudra.models.dataset"])
    pipes = {rank: ctx.Pipe(duplex=False) for rank in range(plan.layout.world)}  # (reader, writer): one line
    procs = {rank: ctx.Process(target=_child, args=(plan, rank, store.port, pipes[rank][1]), daemon=True)
             for rank in range(plan.layout.world)}
    for p in procs.values():
        p.start()
    failed = None
    try:
        failed = _supervise(plan, procs)
    finally:
        _reap(procs, EXIT_GRACE if failed is None else plan.wait + EXIT_GRACE)
        del store
    reasons = {rank: reader.recv() for rank, (reader, _) in pipes.items() if reader.poll()}
    if failed is not None:
        raise LaunchError(_failure(plan, failed, procs[failed].exitcode, reasons))
    return read_run_json(plan.out)


def _child(plan: Plan, rank: int, port: int, report) -> None:
    """A spawned process: connect to the local store, play the rank's role, report a failure in one line."""
    loopback = next((name for _, name in socket.if_nameindex() if name in ("lo", "lo0")), None)
    if loopback is not None:
        os.environ["GLOO_SOCKET_IFNAME"] = loopback  # local runs bind to 127.0.0.1 only
    code = 0
    try:
        store = dist.TCPStore("127.0.0.1", port, None, False, timedelta(seconds=RENDEZVOUS_SECONDS))
        run_rank(plan, rank, store)
    except BaseException as error:
        report.send(str(error) if isinstance(error, LaunchError) else
                    f"{plan.layout.name(rank)}: {type(error).__name__}: {first_line(error)}")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: a receive may still be pending in a gloo thread


def _supervise(plan: Plan, procs: dict) -> int | None:
    """Wait for the servers; the rank of the first server that failed, or None when all finished."""
    servers = [procs[r] for r in plan.layout.servers]
    while True:
        for rank in plan.layout.servers:
            code = procs[rank].exitcode
            if code is not None and code != 0:
                return rank
        if all(p.exitcode == 0 for p in servers):
            return None
        wait_any([p.sentinel for p in servers if p.exitcode is None], timeout=1.0)


def _reap(procs: dict, grace: float) -> None:
    """Give every process `grace` seconds to exit, then kill what is left: no orphans."""
    deadline = time.monotonic() + grace
    for p in procs.values():
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs.values():
        if p.exitcode is None:
            p.kill()
            p.join(5.0)


def _failure(plan: Plan, rank: int, code: int, reasons: dict) -> str:
    """One line: why the server at `rank` failed, and what its learners said."""
    name = plan.layout.name(rank)
    if rank in reasons:
        return reasons[rank]
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    told = [reasons[r] for r in plan.layout.learners if r in reasons]
    return f"{name} died ({how})" + (f"; {told[0]}" if told else "") + (
        f" (and {len(told) - 1} more learners)" if len(told) > 1 else "")
