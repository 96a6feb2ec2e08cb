"""Numerics mode: the real gradients and updates of a simulated run, in one process, in the simulated order.

The cluster model decides who computes on which weights and when updates
happen; this module does the arithmetic at three hook points (after FLSim's
training simulator: drawn durations, real updates in simulated order), which
NumericsCluster calls around the plain Cluster's own steps, so a simulation
without numerics runs exactly the tuned code it always ran:

  sent(s, v)             shard s sent its version v to a learner: it is referenced
  gradient(l, versions)  learner l's compute finished: forward/backward on those
                         weights (one version per shard) with l's next minibatch,
                         the same LearnerStream the real learner draws
  applied(s, update, gs) shard s applies an Update: models/step.py's SGD with
                         protocol/'s scales and lr, then evaluation when due

Theory of operation: each shard keeps ONE live weight vector (its slice) and
counts the references learners hold on each version. Versions are copied on
write: only when an update is about to overwrite a version some learner still
holds is that version frozen into a copy, and a copy is freed when its last
reference is released. Memory therefore follows the distinct versions alive
(1 for hardsync, about n for n-softsync, about λ for async), plus the
gradients the protocol has buffered, never λ copies of the weights.

Evaluation follows the runtime's reporter: the initial weights at t = 0, then
whenever shard 0 has applied eval_every epochs more gradients, and at the end;
train_loss is the mean minibatch loss of the gradients applied since the last
evaluation. With several shards, an evaluation takes every shard's weights at
the moment shard 0 reaches the point (the runtime takes each shard's when
that shard reaches it: at most a few updates apart).

The arithmetic runs where a real learner's would, on `[runtime] device`: on a
GPU the data set is copied there once and a gradient moves only its indices.
"""
from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from rudra.models import Dataset, evaluate, load_dataset
from rudra.models.device import device_problem
from rudra.models.sampling import LearnerStream
from rudra.models.spec import DataSpec, ModelSpec
from rudra.models.step import Sgd, flat_model
from rudra.protocol import ProtocolSpec, TrainSpec, TraceWriter, Update
from rudra.protocol.learner import ADOPT

from .cluster import Cluster, Shard
from .errors import SimError


class Gradient(NamedTuple):
    """The opaque handle a simulated push carries: the flat gradient (all shards) and its minibatch loss."""

    grad: torch.Tensor
    loss: float


class _Shard:
    """One shard's live weights, optimizer, version, references per version and frozen copies."""

    __slots__ = ("lo", "hi", "weights", "sgd", "version", "refs", "frozen")

    def __init__(self, lo: int, hi: int, weights: torch.Tensor, train: TrainSpec):
        self.lo, self.hi = lo, hi
        self.weights = weights
        self.sgd = Sgd(weights, train.momentum, train.weight_decay)
        self.version = 0
        self.refs: dict[int, int] = {}
        self.frozen: dict[int, torch.Tensor] = {}

    def at(self, version: int) -> torch.Tensor:
        """The weights of `version` (live or frozen)."""
        return self.weights if version == self.version else self.frozen[version]


class Numerics:
    """The arithmetic of one simulated run; the cluster calls its hooks, sim/run.py its `start` and `finish`."""

    def __init__(self, protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, *, seed: int,
                 train_samples: int, eval_every: float, writer: TraceWriter, device: str = "cpu",
                 progress: bool = False):
        problem = device_problem(device)
        if problem:
            raise SimError(f"numerics: {problem}")
        self.device = torch.device(device)
        self.data = _on(load_dataset(data, seed), self.device)
        if len(self.data.train_y) != train_samples:
            raise SimError(f"numerics: the data set has {len(self.data.train_y)} training samples, the simulation "
                           f"was sized for {train_samples}")
        self.net = flat_model(model, self.data.input_shape, self.data.classes, seed, self.device)
        parts = np.array_split(np.arange(self.net.params.numel()), protocol.shards)
        self.shards = [_Shard(int(p[0]), int(p[-1]) + 1, self.net.params[p[0]:p[-1] + 1].clone(), train)
                       for p in parts]
        self.streams = [LearnerStream(train_samples, l, protocol.learners, train.minibatch, seed, data.sampling)
                        for l in range(protocol.learners)]
        self.writer = writer
        self.per_epoch = train.gradients_per_epoch(train_samples)
        self.eval_gradients = eval_every * self.per_epoch
        self.next_eval = 1
        self.applied_gradients = 0  # by shard 0
        self.loss_sum, self.loss_n = 0.0, 0
        self.loaded: tuple[int, ...] | None = None  # versions net.params holds now
        self.last: dict = {}
        self.peak_versions = 1
        self.bar = tqdm(total=train.target_gradients(train_samples), unit="grad", desc="numerics",
                        disable=not progress, dynamic_ncols=True)

    # --- hooks -----------------------------------------------------------------------------

    def sent(self, s: int, version: int) -> None:
        """Shard s sent `version` (its current one) to a learner, who holds it until `release`."""
        refs = self.shards[s].refs
        refs[version] = refs.get(version, 0) + 1

    def release(self, s: int, version: int) -> None:
        """A learner let go of shard s's `version`; its copy goes with the last reference."""
        shard = self.shards[s]
        left = shard.refs[version] - 1
        if left:
            shard.refs[version] = left
        else:
            del shard.refs[version]
            shard.frozen.pop(version, None)

    def gradient(self, learner: int, versions: tuple[int, ...], release: bool = True) -> Gradient:
        """Learner's gradient on the weights of `versions` (one per shard) and its next minibatch; with
        `release`, the learner lets go of those weights (serial learners use one pull for one minibatch)."""
        net = self.net
        if versions != self.loaded:
            for shard, v in zip(self.shards, versions):
                net.params[shard.lo:shard.hi].copy_(shard.at(v))
            self.loaded = versions
        idx = torch.from_numpy(self.streams[learner].next_indices()).to(self.device)
        loss = net.gradient(self.data.train_x[idx], self.data.train_y[idx])
        if release:
            for s, v in enumerate(versions):
                self.release(s, v)
        return Gradient(net.grads.clone(), loss)

    def applied(self, s: int, update: Update, gradients: list[Gradient], t: float) -> None:
        """Shard s applies `update`, whose k-th gradient is gradients[k]: θ ← θ − lr·Σ scale·g over its slice;
        shard 0 also drives evaluation."""
        shard = self.shards[s]
        if shard.refs.get(shard.version):  # someone still computes on the version about to change
            shard.frozen[shard.version] = shard.weights.clone()
            self.peak_versions = max(self.peak_versions, len(shard.frozen) + 1)
        lo, hi = shard.lo, shard.hi
        shard.sgd.apply(((a.scale, g.grad[lo:hi]) for a, g in zip(update.gradients, gradients)), update.lr)
        shard.version = update.version  # `loaded` stays right: a version's weights never change
        if s:
            return
        self.applied_gradients += len(update.gradients)
        for g in gradients:
            self.loss_sum += g.loss
        self.loss_n += len(gradients)
        self.bar.update(len(update.gradients))
        while self.applied_gradients >= self.next_eval * self.eval_gradients:
            self._evaluate(t)
            self.next_eval += 1

    # --- evaluation ------------------------------------------------------------------------

    def start(self) -> None:
        """Evaluate the initial weights (epoch 0, t = 0), as a real run does."""
        self._evaluate(0.0)

    def finish(self, t: float) -> dict:
        """Evaluate the final weights at t (unless that point was just evaluated); the last metrics."""
        self._evaluate(t)
        self.bar.close()
        return self.last

    def weights(self) -> torch.Tensor:
        """The server's current weights, every shard's slice in order (a new tensor on the CPU)."""
        return torch.cat([shard.weights for shard in self.shards]).cpu()

    def _evaluate(self, t: float) -> None:
        epoch = self.applied_gradients / self.per_epoch
        if self.last.get("epoch") == epoch:
            return
        for shard in self.shards:
            self.net.params[shard.lo:shard.hi].copy_(shard.weights)
        self.loaded = tuple(shard.version for shard in self.shards)
        test_loss, test_error = evaluate(self.net.model, self.data.test_x, self.data.test_y)
        train_loss = self.loss_sum / self.loss_n if self.loss_n else math.nan
        self.loss_sum, self.loss_n = 0.0, 0
        self.writer.metrics(epoch, t, train_loss, test_error)
        self.last = {"epoch": epoch, "test_error": test_error, "test_loss": test_loss, "train_loss": train_loss}
        self.bar.set_postfix({"epoch": f"{epoch:.2f}", "err": f"{100 * test_error:.1f}%"}, refresh=False)


def _on(data: Dataset, device: torch.device) -> Dataset:
    """The data set with its tensors on `device`: one copy up front, so a gradient moves only its indices."""
    if device.type == "cpu":
        return data
    return dataclasses.replace(data, **{name: getattr(data, name).to(device)
                                        for name in ("train_x", "train_y", "test_x", "test_y")})


class NumericsCluster(Cluster):
    """The cluster model with Numerics at its hook points; its timing and decisions are Cluster's own.

    A gradient waits in a side table under (learner, step), the names the protocol's Applied gives it (as
    the trace's times do): shard s applies the slice of it that it owns, and it goes once every shard has."""

    def __init__(self, protocol: ProtocolSpec, train: TrainSpec, *args, model: ModelSpec, data: DataSpec,
                 seed: int, eval_every: float, threads: int = 1, device: str = "cpu", progress: bool = False,
                 **kwargs):
        super().__init__(protocol, train, *args, progress=False, **kwargs)
        torch.set_num_threads(threads)  # as a real learner computes (two threads on a tiny net: several × slower)
        self.num = Numerics(protocol, train, model, data, seed=seed, train_samples=kwargs["train_samples"],
                            eval_every=eval_every, writer=self.writer, device=device, progress=progress)
        self.pending: dict[tuple[int, int], list] = {}  # (learner, step) -> [Gradient, shards still to apply]
        self.steps = [0] * self.lam                       # gradients computed per learner
        self.adopted: dict[int, tuple[int, ...]] = {}    # adv*: the weights a learner computes on

    def run(self) -> None:
        """Evaluate the initial weights, simulate, evaluate the final ones (metrics.csv)."""
        self.num.start()
        super().run()
        self.num.finish(self.t_end)

    def _compute_done(self, l: int, versions: tuple[int, ...], release: bool) -> None:
        self.pending[(l, self.steps[l])] = [self.num.gradient(l, versions, release), self.S]
        self.steps[l] += 1

    def _weights(self, s: int, l: int, version: int, t: float) -> None:
        self.num.sent(s, version)
        super()._weights(s, l, version, t)

    def _pushed(self, event) -> None:
        l, _, versions, pull, _, _ = event.value
        if pull and not self.stopped:  # base/adv: the compute that just ended used this pull's weights
            self._compute_done(l, versions, release=True)
        super()._pushed(event)

    def _overlap_computed(self, event) -> None:
        if not self.stopped:  # adv*: computed on the weights adopted last (let go at the next ADOPT)
            l = event.value[0]
            self._compute_done(l, self.learners[l].versions, release=False)
        super()._overlap_computed(event)

    def _act(self, l: int, m, decisions: tuple, *args) -> None:
        if ADOPT in decisions:
            for s, v in enumerate(self.adopted.get(l, ())):
                self.num.release(s, v)
            self.adopted[l] = m.versions
        super()._act(l, m, decisions, *args)

    def _applied(self, shard: Shard, update: Update, t: float) -> None:
        if shard.index or t <= self.max_seconds:  # else Cluster stops the run without this update
            pending, gradients = self.pending, []
            for a in update.gradients:
                key = (a.learner, a.step)
                entry = pending[key]
                gradients.append(entry[0])
                entry[1] -= 1
                if not entry[1]:
                    del pending[key]
            self.num.applied(shard.index, update, gradients, t)
        super()._applied(shard, update, t)
