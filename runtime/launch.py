"""Starting a run: check that it can run here and fix its shape (the plan), then play every role on this
machine (runtime/local.py, the default) or this process's role under torchrun.

torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set): rendezvous uses
torchrun's environment, the world must be S + λ processes, each rank takes
the role runtime/layout.py gives it, and only shard 0 returns its run.json.
"""
from __future__ import annotations

import os
from pathlib import Path

from rudra.models import load_dataset
from rudra.models.device import device_problem
from rudra.models.size import spec_parameter_count
from rudra.models.spec import DataSpec, ModelSpec
from rudra.protocol import ProtocolSpec, TrainSpec
from rudra.protocol.spec import first_problem

from .errors import LaunchError
from .layout import Layout
from .limits import check_machine
from .local import run_local
from .plan import Plan
from .rank import run_rank
from .spec import RuntimeSpec

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def train(protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, runtime: RuntimeSpec, *,
          seed: int, out: Path, config: dict, progress: bool, resume: bool = False) -> dict | None:
    """Train for real; returns what shard 0 wrote to run.json (None on the ranks that do not write the trace).
    rudra.analysis.summarize(out) gives the summary (the runner stores it in run.json)."""
    torchrun = all(k in os.environ for k in TORCHRUN_ENV)
    plan = make_plan(protocol, train, model, data, runtime, seed=seed, out=Path(out), config=config,
                     progress=progress, resume=resume, local=not torchrun)
    if torchrun:
        return run_rank(plan, int(os.environ["RANK"]), store=None)
    return run_local(plan)


def make_plan(protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, runtime: RuntimeSpec, *,
              seed: int, out: Path, config: dict, progress: bool, resume: bool, local: bool = True) -> Plan:
    """Check what the launch needs (specs, device, fault target, what this machine can hold; `local`: every
    process runs here) and fix the run's shape."""
    problem = first_problem([("protocol", protocol.invalid()), ("train", train.invalid()), ("model", model.invalid()),
                             ("data", data.invalid()), ("runtime", runtime.invalid()),
                             ("runtime", runtime.invalid_with(protocol)), ("model", model.invalid_with(data))])
    if problem:
        raise LaunchError(problem)
    check_device(runtime.device)
    check_machine(protocol, train, model, data, runtime, local)
    dataset = load_dataset(data, seed)
    layout = Layout.of(protocol.shards, protocol.learners, runtime.server_ranks)
    return Plan(protocol, train, model, data, runtime, seed, out, config, progress, resume, layout,
                train_samples=len(dataset.train_y), input_shape=dataset.input_shape, classes=dataset.classes,
                parameters=spec_parameter_count(model, dataset.input_shape, dataset.classes))


def check_device(device: str) -> None:
    """LaunchError unless learners can compute on `device` here."""
    problem = device_problem(device)
    if problem:
        raise LaunchError(problem)
