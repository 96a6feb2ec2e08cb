"""What a shard server reports beside serving: shard 0 keeps the run directory, the other shards send it their
weights slices for evaluation.

Shard 0's Reporter writes the trace (gradients, updates, metrics), assembles
every shard's slice at each evaluation point and evaluates the whole model on
the test set, draws the progress bar and writes run.json: the derived inputs,
the end-of-run facts and the runtime's own figures under "runtime", from which
rudra.analysis computes the summary that a simulated run gets too. A SliceSender is
the same interface on shards 1..S-1: it only ships its slice to shard 0.
The shard server calls one or the other and never asks which shard it is.
"""
from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
from tqdm import tqdm

from rudra.models import evaluate, load_dataset
from rudra.models.step import FlatNet
from rudra.models.size import BYTES_PER_PARAMETER
from rudra.protocol import ParameterServer, TraceWriter, Update, write_run_json
from rudra.protocol.trace import PUSH_PATH, run_inputs, run_outcome, software_versions

from . import checkpoint
from .plan import Plan
from .versions import cpu_ticks, machine, stolen
from .wire import SLICE, VALUE, Message

if TYPE_CHECKING:
    from .server import ShardServer

FINAL = -1  # evaluation index of the end-of-run evaluation


class SliceSender:
    """Shards 1..S-1: send this shard's weights slice to shard 0 at each evaluation point; nothing else."""

    peers: tuple[int, ...] = ()  # nobody sends reports to this shard
    done: frozenset[int] = frozenset()  # nor final slices

    def __init__(self, plan: Plan, shard: int, out: Message, ps: ParameterServer):
        self.plan, self.shard, self.out, self.ps = plan, shard, out, ps

    def start(self) -> None:
        pass

    def restore(self, record: checkpoint.CheckpointRecord) -> None:
        pass

    def update(self, update: Update, t: float) -> None:
        pass

    def snapshot(self, index: int, weights: torch.Tensor) -> None:
        """Send `weights` (the payload of `out`: nothing is copied) as evaluation `index`'s slice."""
        self.out.set(SLICE, self.shard, self.ps.version, index)
        dist.send(self.out.frame(len(weights)), self.plan.layout.servers[0])

    def slice(self, msg: Message) -> None:
        raise AssertionError("only shard 0 receives slices")

    def missing(self, index: int) -> list[int]:
        return []

    def record(self) -> dict:
        return {"metrics": {}, "trace": None}

    def checkpointed(self) -> None:
        pass

    def finished(self, server: ShardServer) -> dict | None:
        return None

    def failed(self, server: ShardServer, reason: str) -> None:
        pass


class Reporter:
    """Shard 0: the trace, evaluations of the assembled weights, the progress bar and run.json."""

    def __init__(self, plan: Plan, net: FlatNet, ps: ParameterServer, clock):
        self.plan, self.ps, self.clock = plan, ps, clock
        self.peers = tuple(plan.layout.servers[1:])  # the other shards send their slices here
        data = load_dataset(plan.data, plan.seed)
        self.model, self.eval_params = net.model, net.params
        self.test_x, self.test_y = data.test_x, data.test_y
        self.parts: dict[int, dict] = {}   # evaluation index -> {"shards": {s: slice}, "epoch", "t", ...}
        self.loss_sum, self.loss_n = 0.0, 0
        self.last_metrics: dict = {}
        self.writer: TraceWriter | None = None
        self.bar = None
        self.target_seconds: float | None = None  # when the epochs target was reached
        self.done: set[int] = set()  # shards whose final slice came (they may leave before shard 0 is done)
        self.path = dict.fromkeys(PUSH_PATH, 0.0)  # summed over the applied gradients (push_path in run.json)
        self.path_n = 0
        self.ticks = cpu_ticks()  # the machine's CPU time so far: how much of the run's a hypervisor took

    def start(self) -> None:
        """Open the trace (appending on resume), say "running", and evaluate the initial weights."""
        plan = self.plan
        self.writer = TraceWriter(plan.out, detail=plan.runtime.trace, append=plan.resume)
        self._write_run_json("running")
        if plan.progress:
            tqdm.set_lock(threading.RLock())  # not tqdm's default multiprocessing lock: this process _exits
            self.bar = tqdm(total=plan.target, initial=self.ps.gradients_applied, unit="grad",
                            dynamic_ncols=True, desc="train")
        if not plan.resume:
            self._evaluate_now(0.0, None)

    def restore(self, record: checkpoint.CheckpointRecord) -> None:
        """Cut the trace back to the checkpoint; the last evaluation carries on into the summary."""
        self.last_metrics = dict(record.metrics)
        checkpoint.restore_trace(self.plan.out, record.trace)

    def update(self, update: Update, t: float) -> None:
        """Trace an applied update (before its gradients' buffers are reused), time its pushes' path and move the
        bar."""
        path, clock = self.path, self.clock
        times = [a.gradient.times() for a in update.gradients]  # one header read each, for the path and the trace
        for a, stamps in zip(update.gradients, times):
            msg = a.gradient
            self.loss_sum += msg.slot(VALUE)
            path["received"] += clock(msg.arrived) - stamps[3]
            path["queued"] += msg.taken - msg.arrived
            path["served"] += t - clock(msg.taken)
        self.loss_n += len(times)
        self.path_n += len(times)
        self.writer.update(update, t, times if self.writer.detail == "full" else ())
        if self.target_seconds is None and self.ps.gradients_applied >= self.plan.target:
            self.target_seconds = t
        if self.bar is not None:
            self._progress(len(update.gradients))

    # --- evaluation -------------------------------------------------------------------------------

    def snapshot(self, index: int, weights: torch.Tensor) -> None:
        """Shard 0's own slice for evaluation `index`."""
        self._evaluate_part(index, 0, weights.clone())

    def slice(self, msg: Message) -> None:
        """Another shard's slice for the evaluation index in its STEP slot."""
        _, shard, _, index = msg.ints()
        if index == FINAL:
            self.done.add(shard)
        lo, hi = self.plan.bounds()[shard]
        self._evaluate_part(index, shard, msg.payload[:hi - lo].clone())

    def missing(self, index: int) -> list[int]:
        """Shards whose slice for evaluation `index` has not come yet ([] once it is evaluated)."""
        entry = self.parts.get(index)
        return [] if entry is None else sorted(set(range(self.plan.protocol.shards)) - set(entry["shards"]))

    def _evaluate_part(self, index: int, shard: int, part: torch.Tensor) -> None:
        entry = self.parts.setdefault(index, {"shards": {}})
        entry["shards"][shard] = part
        if shard == 0:  # the point in the run is shard 0's: its gradients applied, its clock
            entry["epoch"] = self.ps.gradients_applied / self.plan.per_epoch
            entry["t"] = self.clock()
            entry["train_loss"] = self.loss_sum / self.loss_n if self.loss_n else math.nan
            self.loss_sum, self.loss_n = 0.0, 0
        if len(entry["shards"]) == self.plan.protocol.shards and "epoch" in entry:
            del self.parts[index]
            self._evaluate_now(entry["epoch"], entry)

    def _evaluate_now(self, epoch: float, entry: dict | None) -> None:
        """Assemble the weights, evaluate them on the test set, write a metrics row (one per epoch value)."""
        if self.last_metrics.get("epoch") == epoch:  # the final evaluation repeats the last periodic one
            return
        if entry is not None:  # else: the model still holds the initial weights, the same on every shard
            for s, (lo, hi) in enumerate(self.plan.bounds()):
                self.eval_params[lo:hi].copy_(entry["shards"][s])
        test_loss, test_error = evaluate(self.model, self.test_x, self.test_y)
        train_loss = math.nan if entry is None else entry["train_loss"]
        t = self.clock() if entry is None else entry["t"]
        self.writer.metrics(epoch, t, train_loss, test_error)
        self.last_metrics = {"epoch": epoch, "test_error": test_error, "test_loss": test_loss,
                             "train_loss": train_loss}

    # --- checkpoints and the end -------------------------------------------------------------------

    def record(self) -> dict:
        """The checkpoint record's reporting fields: the last evaluation and the trace as it stands."""
        return {"metrics": self.last_metrics, "trace": checkpoint.trace_snapshot(self.writer)}

    def checkpointed(self) -> None:
        self._write_run_json("running")

    def finished(self, server: ShardServer) -> dict:
        """Close the trace; run.json as written (the runner adds the summary)."""
        record = self._write_run_json("finished", server)
        self._close()
        return record

    def failed(self, server: ShardServer, reason: str) -> None:
        """Leave the trace readable, with run.json saying why the run failed."""
        if self.writer is not None:
            self._write_run_json("failed", server, error=reason)
            self._close()

    def _close(self) -> None:
        self.writer.close()
        if self.bar is not None:
            self.bar.close()

    # --- reporting -------------------------------------------------------------------------------------

    def _progress(self, n: int) -> None:
        bar = self.bar
        bar.update(n)
        hist = self.writer.histogram
        total = sum(hist.values())
        postfix = {"epoch": f"{self.ps.gradients_applied / self.plan.per_epoch:.2f}",
                   "σ": f"{sum(k * v for k, v in hist.items()) / total:.2f}" if total else "-"}
        if self.last_metrics:
            postfix["err"] = f"{100 * self.last_metrics['test_error']:.1f}%"
        bar.set_postfix(postfix, refresh=False)

    def _outcome(self, status: str, server: ShardServer, **extra) -> dict:
        """The end-of-run facts every driver records, and the runtime's own under "runtime"."""
        lam = self.plan.protocol.learners
        return {
            **run_outcome(status=status, stopped_by="epochs" if server.finished else status, seconds=self.clock(),
                          target_seconds=self.target_seconds, gradients=self.ps.gradients_applied,
                          updates=self.ps.version, holds=server.holds, lost_learners=len(server.lost)),
            "runtime": {
                "lost": server.lost,  # every session's, with rank, reason, time and version
                "learners_left": lam - sum(l["session"] == server.resumed for l in server.lost),
                "barrier": self.ps.c if self.plan.protocol.name == "hardsync" else None,
                "test_loss": self.last_metrics.get("test_loss"),
                "checkpoints": server.checkpoints,
                "resumed": server.resumed,
                "device": self.plan.runtime.device,
                "architecture": self.plan.protocol.architecture,  # run.json's config is the caller's, verbatim
                "shards": self.plan.protocol.shards,
                # shard 0's pushes this session, per learner: numbered by the learner (its highest number seen),
                # taken in, and dropped (it was stopped or gone, or the run complete); those left unapplied at
                # the end sit in a softsync batch the run did not need. Each of the rest is a gradients.csv row.
                "pushes": {"numbered": server.numbered, "received": server.received, "dropped": server.dropped,
                           "unapplied": self.ps.buffered},
                # CPU seconds this session: shard 0's process in its message loop (its receive threads too), and
                # each learner's process from its start to its last push (what rudra calibrate splits per gradient),
                # and of that its computes' own
                "cpu_seconds": {"server": server.cpu, "learners": server.learner_cpu,
                                "learners_compute": server.learner_compute_cpu},
                # where push → applied goes, mean seconds over this session's applied gradients (PUSH_PATH)
                "push_path": {k: v / self.path_n if self.path_n else None for k, v in self.path.items()},
                # the share of the machine's CPU time a hypervisor took while this session ran (None: not
                # counted here): beyond a few percent the run met a slower machine than any calibration saw
                "stolen": stolen(self.ticks, cpu_ticks()),
                **extra,
            },
        }

    def _write_run_json(self, status: str, server: ShardServer | None = None, **extra) -> dict:
        """run.json: while running, what the run is and derived; at the end, also how it ended."""
        plan = self.plan
        record = {"config": plan.config, "seed": plan.seed, "kind": "real",
                  "versions": software_versions(torch=torch.__version__), "machine": machine(),
                  "inputs": run_inputs(plan.train, learners=plan.protocol.learners, train_samples=plan.train_samples,
                                       parameters=plan.parameters, model_bytes=BYTES_PER_PARAMETER * plan.parameters),
                  "status": status}
        if server is not None:
            record.update(self._outcome(status, server, **extra))
        write_run_json(plan.out, record)
        return record
