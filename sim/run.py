"""`simulate()`: check the settings, run the cluster model, write the trace directory and run.json.

run.json holds what rudra.analysis.summarize needs (derived inputs, end-of-run
facts) and the simulator's own figures under "sim" (sim/record.py); the runner
(rudra/runner.py) adds the shared summary.
"""
from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import simpy

from rudra.protocol import SCHEMA, ProtocolSpec, TrainSpec, TraceWriter, write_run_json
from rudra.protocol.spec import first_problem
from rudra.protocol.trace import machine, run_inputs, software_versions

from .cluster import Cluster, cycle_collector_paused
from .errors import SimError
from .spec import ClusterSpec, SimSpec
from .record import extras, outcome

if TYPE_CHECKING:
    from rudra.models.spec import DataSpec, ModelSpec

BASELINE_GRADIENTS = 2000  # λ = 1 is sequential: its rate settles within a few thousand gradients


def _check(protocol: ProtocolSpec, train: TrainSpec, cluster: ClusterSpec, sim: SimSpec,
           train_samples: int, model_bytes: int) -> None:
    """Raise SimError naming the first setting the simulator cannot run."""
    problem = first_problem([("protocol", protocol.invalid()), ("train", train.invalid()),
                             ("cluster", cluster.invalid()), ("sim", sim.invalid()),
                             ("cluster", cluster.invalid_with(protocol)),
                             ("cluster", cluster.invalid_with_train(train))])
    if problem:
        raise SimError(problem)
    if train_samples < 1:
        raise SimError(f"train_samples = {train_samples}: allowed >= 1 (the data set is empty)")
    if model_bytes < 1:
        raise SimError(f"model_bytes = {model_bytes}: allowed >= 1")


def _baseline_rate(protocol: ProtocolSpec, train: TrainSpec, cluster: ClusterSpec, train_samples: int,
                   model_bytes: int, seq: np.random.SeedSequence, speed: float) -> float:
    """Gradients/s of one learner of speed `speed` (the cluster's mean) on the same cluster and architecture."""
    one = ProtocolSpec(name="async", learners=1, lr_policy=protocol.lr_policy, architecture=protocol.architecture,
                       shards=protocol.shards)
    alone = dataclasses.replace(cluster, speeds=(speed,), speed_dist="constant", speed_cv=0.0,
                                straggler_fraction=0.0)
    c = Cluster(one, train, alone, train_samples=train_samples, model_bytes=model_bytes, seq=seq, writer=None,
                max_gradients=BASELINE_GRADIENTS)
    c.run()
    return c.shards[0].gradients / c.t_end if c.t_end > 0 else 0.0


def simulate(protocol: ProtocolSpec, train: TrainSpec, cluster: ClusterSpec, sim: SimSpec, *, train_samples: int,
             model_bytes: int, seed: int, out: Path, config: dict, progress: bool,
             parameters: int | None = None, model: ModelSpec | None = None, data: DataSpec | None = None,
             eval_every: float = 1.0, threads: int = 1, device: str = "cpu") -> dict:
    """Simulate one experiment into the trace directory `out`; return what it wrote to run.json.

    `model_bytes` is the size of one weights or gradient message as the caller resolved it (the runner:
    cluster.model_bytes if set, else the model's); `parameters` is only recorded. With sim.numerics, the
    `model` is trained on `data` in simulated order with `threads` torch threads on `device` (a real learner's)
    and evaluated every `eval_every` epochs (metrics.csv).
    """
    _check(protocol, train, cluster, sim, train_samples, model_bytes)
    if sim.numerics and (model is None or data is None):
        raise SimError("sim.numerics = true: allowed only with the [model] and [data] to compute gradients of")
    wall = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in (*SCHEMA, "run.json"):  # a previous run's files must not survive into this one
        (out / name).unlink(missing_ok=True)
    main_seq, baseline_seq = np.random.SeedSequence(seed).spawn(2)
    # building λ learners and writing their counters allocate as much as the run: no cycle scans either
    with cycle_collector_paused():
        with TraceWriter(out, detail=sim.trace) as writer:
            make = Cluster
            if sim.numerics:  # torch and the models load only here
                from .numerics import NumericsCluster
                make = functools.partial(NumericsCluster, model=model, data=data, seed=seed, eval_every=eval_every,
                                         threads=threads, device=device)
            c = make(protocol, train, cluster, train_samples=train_samples, model_bytes=model_bytes, seq=main_seq,
                     writer=writer, max_updates=sim.max_updates, max_seconds=sim.max_seconds, progress=progress)
            c.run()
        baseline = (_baseline_rate(protocol, train, cluster, train_samples, model_bytes, baseline_seq,
                                   c.compute.mean_speed) if sim.speedup else None)
        record = {"config": config, "seed": seed, "kind": "sim", "versions": software_versions(simpy=simpy.__version__),
                  "machine": machine(), **outcome(c), "sim": extras(c, baseline),
                  "inputs": run_inputs(train, learners=protocol.learners, train_samples=train_samples,
                                       parameters=parameters, model_bytes=model_bytes)}
    record["wall_seconds"] = time.perf_counter() - wall
    write_run_json(out, record)
    return record
