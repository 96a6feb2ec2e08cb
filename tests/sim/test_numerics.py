"""Numerics mode does the real arithmetic in the order it is given.

Three references, each independent of sim/numerics.py's copy-on-write versions:
  * `replay` below: every version's weights kept, each gradient recomputed on the
    version its row names with its learner's minibatch of that step, plain
    torch.optim.SGD with the row's scale and the update's lr — fed any trace;
  * single-process SGD with batch μλ (hardsync);
  * the real runtime: a real run's final weights, and its arrival order scripted
    into the protocol machine and Numerics (async).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from rudra.models import load_dataset
from rudra.models.sampling import LearnerStream
from rudra.models.spec import DataSpec, ModelSpec
from rudra.models.step import flat_model
from rudra.protocol import ParameterServer, ProtocolSpec, Send, TrainSpec, TraceWriter, Update
from rudra.sim import ClusterSpec
from rudra.sim.numerics import Numerics, NumericsCluster

SEED = 7
MODEL, DATA = ModelSpec(hidden=(16,)), DataSpec(train_limit=128)
TRAIN = TrainSpec(minibatch=4, lr=0.05, momentum=0.9, weight_decay=1e-3, epochs=1.0)


def numerics(tmp_path, protocol: ProtocolSpec, train: TrainSpec = TRAIN, data: DataSpec = DATA,
             model: ModelSpec = MODEL, seed: int = SEED, device: str = "cpu") -> Numerics:
    writer = TraceWriter(tmp_path / "trace", detail="summary")
    return Numerics(protocol, train, model, data, seed=seed, train_samples=data.train_limit, eval_every=1.0,
                    writer=writer, device=device)


def replay(gradients: pd.DataFrame, updates: pd.DataFrame, protocol: ProtocolSpec, train: TrainSpec = TRAIN,
           data: DataSpec = DATA, model: ModelSpec = MODEL, seed: int = SEED) -> torch.Tensor:
    """Final weights of a trace recomputed naively: all versions kept, plain SGD (the reference)."""
    d = load_dataset(data, seed)
    net = flat_model(model, d.input_shape, d.classes, seed)
    weights = net.params.clone()
    param = torch.nn.Parameter(weights)
    opt = torch.optim.SGD([param], lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay)
    history = [weights.clone()]
    streams = [LearnerStream(len(d.train_y), l, protocol.learners, train.minibatch, seed, data.sampling)
               for l in range(protocol.learners)]
    lr = dict(zip(updates.version, updates.lr))
    for i, rows in gradients.sort_values(["applied_version"], kind="stable").groupby("applied_version", sort=True):
        total = torch.zeros_like(weights)
        for row in rows.itertuples():
            assert streams[row.learner].offset == row.step * train.minibatch % len(d.train_y)
            idx = torch.from_numpy(streams[row.learner].next_indices())
            net.params.copy_(history[row.pulled_version])
            net.gradient(d.train_x[idx], d.train_y[idx])
            total += row.scale * net.grads
        param.grad = total
        for group in opt.param_groups:
            group["lr"] = lr[i + 1]
        with torch.no_grad():
            opt.step()
        history.append(param.detach().clone())
    return history[-1]


class Scripted:
    """Feeds (`pull` | `push`, learner) events to the protocol and carries out its decisions with Numerics."""

    def __init__(self, protocol: ProtocolSpec, num: Numerics, train: TrainSpec = TRAIN, samples: int = 128):
        self.ps, self.num = ParameterServer(protocol, train.schedule(samples)), num
        self.holding: dict[int, int] = {}
        self.updates: list[Update] = []

    def run(self, events: list[tuple[str, int]]) -> Scripted:
        for kind, l in events:
            if kind == "pull":
                self._carry_out(self.ps.pull(l))
            else:
                j = self.holding.pop(l)
                self._carry_out(self.ps.push(l, j, self.num.gradient(l, (j,))))
        return self

    def _carry_out(self, decisions: list) -> None:
        for d in decisions:
            if type(d) is Send:
                self.num.sent(0, d.version)
                self.holding[d.learner] = d.version
            elif type(d) is Update:
                self.num.applied(0, d, [a.gradient for a in d.gradients], float(d.version))
                self.updates.append(d)


def trace_of(updates: list[Update]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """gradients.csv / updates.csv columns the replay reads, from Update decisions."""
    rows = [(a.learner, a.step, a.pulled_version, u.version - 1, a.scale) for u in updates for a in u.gradients]
    grads = pd.DataFrame(rows, columns=["learner", "step", "pulled_version", "applied_version", "scale"])
    return grads, pd.DataFrame({"version": [u.version for u in updates], "lr": [u.lr for u in updates]})


ASYNC_ORDER = [("pull", 0), ("pull", 1), ("pull", 2), ("push", 0), ("pull", 0), ("push", 1), ("pull", 1),
               ("push", 0), ("pull", 0), ("push", 2), ("pull", 2), ("push", 1), ("push", 0), ("push", 2)]


@pytest.mark.parametrize("policy", ["constant", "per-gradient"])
def test_a_scripted_async_order_gives_the_naive_replays_weights(tmp_path, policy):
    protocol = ProtocolSpec(name="async", learners=3, lr_policy=policy)
    num = numerics(tmp_path, protocol)
    grads, ups = trace_of(Scripted(protocol, num).run(ASYNC_ORDER).updates)
    assert grads.pulled_version.tolist() == [0, 0, 1, 0, 2, 3, 4]  # σ up to 3: old versions frozen
    torch.testing.assert_close(num.weights(), replay(grads, ups, protocol), rtol=1e-5, atol=1e-6)


def test_versions_are_copied_on_write_and_freed_with_their_last_reference(tmp_path):
    protocol = ProtocolSpec(name="async", learners=3)
    num = numerics(tmp_path, protocol)
    driver = Scripted(protocol, num).run([("pull", 0), ("pull", 1), ("pull", 2)])
    shard = num.shards[0]
    assert shard.refs == {0: 3} and shard.frozen == {}  # three learners, one (live) copy
    driver.run([("push", 0)])  # update 1 overwrites version 0, which learners 1 and 2 hold
    assert shard.refs == {0: 2} and list(shard.frozen) == [0]
    before = shard.frozen[0].clone()
    driver.run([("push", 1)])
    assert shard.refs == {0: 1} and torch.equal(shard.frozen[0], before)
    driver.run([("push", 2)])
    assert shard.refs == {} and shard.frozen == {} and num.peak_versions == 2


def test_hardsync_needs_no_copy_and_equals_sgd_with_batch_mu_lambda(tmp_path):
    lam, rounds = 4, 5
    protocol = ProtocolSpec(name="hardsync", learners=lam)
    num = numerics(tmp_path, protocol)
    events = [("pull", l) for l in range(lam)]
    for _ in range(rounds):
        events += [("push", l) for l in range(lam)] + [("pull", l) for l in range(lam)]
    updates = Scripted(protocol, num).run(events).updates
    assert len(updates) == rounds and num.peak_versions == 1
    torch.testing.assert_close(num.weights(), sgd_batch(lam, rounds), rtol=1e-5, atol=1e-6)


def sgd_batch(lam: int, steps: int, train: TrainSpec = TRAIN, data: DataSpec = DATA, model: ModelSpec = MODEL,
              seed: int = SEED) -> torch.Tensor:
    """Single-process SGD with batch μλ: the λ learners' minibatches of each step concatenated."""
    d = load_dataset(data, seed)
    net = flat_model(model, d.input_shape, d.classes, seed)
    opt = torch.optim.SGD(net.model.parameters(), lr=train.lr, momentum=train.momentum,
                          weight_decay=train.weight_decay)
    streams = [LearnerStream(len(d.train_y), l, lam, train.minibatch, seed, data.sampling) for l in range(lam)]
    for _ in range(steps):
        idx = torch.from_numpy(np.concatenate([s.next_indices() for s in streams]))
        net.grads.zero_()
        F.cross_entropy(net.model(d.train_x[idx]), d.train_y[idx]).backward()
        opt.step()
    return net.params


# --- the simulator in numerics mode ----------------------------------------------------------------------

JITTER = ClusterSpec(sample_seconds=1e-3, jitter_dist="lognormal", jitter_cv=0.3, latency=1e-4)


def simulated(tmp_path, protocol: ProtocolSpec, cluster: ClusterSpec = JITTER, epochs: float = 1.0,
              device: str = "cpu"):
    """A numerics-mode run (full trace) of the module's setting on `device`: the cluster, its gradients.csv,
    updates.csv and metrics.csv."""
    out = tmp_path / f"sim-{device}"
    with TraceWriter(out, detail="full") as writer:
        c = NumericsCluster(protocol, TrainSpec(**{**TRAIN.__dict__, "epochs": epochs}), cluster,
                            train_samples=DATA.train_limit, model_bytes=10_000, seq=np.random.SeedSequence(1),
                            writer=writer, model=MODEL, data=DATA, seed=SEED, eval_every=0.5, device=device)
        c.run()
    return c, pd.read_csv(out / "gradients.csv"), pd.read_csv(out / "updates.csv"), pd.read_csv(out / "metrics.csv")


@pytest.mark.parametrize("protocol", [
    ProtocolSpec(name="async", learners=6),
    ProtocolSpec(name="softsync", learners=6, n=3, lr_policy="per-gradient"),
    ProtocolSpec(name="softsync", learners=6, n=1, lr_policy="mean-staleness"),
    ProtocolSpec(name="async", learners=6, max_staleness=2),
    ProtocolSpec(name="async", learners=6, architecture="adv*", lr_policy="per-gradient"),
], ids=["async", "3-softsync", "1-softsync", "bounded", "adv*"])
def test_numerics_mode_ends_on_the_weights_its_own_trace_replays_to(tmp_path, protocol):
    c, grads, updates, metrics = simulated(tmp_path, protocol)
    assert len(grads) >= c.target and grads.staleness.max() > 0  # the last update may overshoot the target
    torch.testing.assert_close(c.num.weights(), replay(grads, updates, protocol), rtol=1e-5, atol=1e-6)
    # t = 0, every eval_every, the end: each at the first update past the point (1-softsync: 6 gradients = 0.19)
    assert metrics.epoch.tolist() == pytest.approx([0, 0.5, 1.0], abs=0.2) and metrics.t.is_monotonic_increasing
    shard = c.num.shards[0]  # what is left at the stop: at most a pull and a gradient per learner
    assert len(c.pending) <= protocol.learners and sum(shard.refs.values()) <= 2 * protocol.learners
    assert set(shard.frozen) <= set(shard.refs)


@pytest.mark.parametrize("shards", [1, 2])
def test_numerics_hardsync_equals_sgd_with_batch_mu_lambda(tmp_path, shards):
    protocol = ProtocolSpec(name="hardsync", learners=4, architecture="adv" if shards > 1 else "base", shards=shards)
    c, grads, updates, _ = simulated(tmp_path, protocol)
    assert len(updates) == 8 and (grads.staleness == 0).all() and c.num.peak_versions == 1  # no copy needed
    torch.testing.assert_close(c.num.weights(), sgd_batch(4, 8), rtol=1e-5, atol=1e-6)


def test_adv_shards_each_apply_their_slice_of_every_gradient(tmp_path):
    """Two shards in lockstep (no jitter: the same arrival order at both) end where one server would."""
    steady = ClusterSpec(sample_seconds=1e-3, latency=1e-4)
    one, grads, updates, _ = simulated(tmp_path / "one", ProtocolSpec(name="async", learners=3), steady)
    two, *_ = simulated(tmp_path / "two", ProtocolSpec(name="async", learners=3, architecture="adv", shards=2),
                        steady)
    assert grads.staleness.max() > 0
    torch.testing.assert_close(two.num.weights(), one.num.weights(), rtol=1e-5, atol=1e-6)


# --- against the real runtime (one real run each) ------------------------------------------------------

def real_run(tmp_path, name: str, updates: int):
    """A real run of the runtime tests' setting (λ = 4, μ = 8, 256 digits) for `updates` updates' worth of
    gradients: its specs, trace and final weights (its end-of-run checkpoint)."""
    from rudra.runtime import checkpoint

    from ..runtime.conftest import SEED as REAL_SEED, launch, specs
    c = specs(protocol={"name": name})
    lam, mu, n = c["protocol"].learners, c["train"].minibatch, c["data"].train_limit
    per_update = lam if name == "hardsync" else 1
    out = tmp_path / name
    launch(out, protocol={"name": name}, train={"epochs": updates * per_update * mu / n},
           runtime={"checkpoint_every": 10 ** 6})
    trace = pd.read_csv(out / "gradients.csv"), pd.read_csv(out / "updates.csv")
    return c, REAL_SEED, trace, checkpoint.load(out, 0).weights


def real_numerics(tmp_path, c: dict, seed: int) -> Numerics:
    writer = TraceWriter(tmp_path / "numerics", detail="summary")
    return Numerics(c["protocol"], c["train"], c["model"], c["data"], seed=seed,
                    train_samples=c["data"].train_limit, eval_every=1.0, writer=writer)


@pytest.mark.slow
def test_numerics_hardsync_ends_on_the_real_runtimes_weights(tmp_path):
    rounds = 8
    c, seed, _, real = real_run(tmp_path, "hardsync", rounds)
    lam = c["protocol"].learners
    events = [("pull", l) for l in range(lam)]
    for _ in range(rounds):
        events += [("push", l) for l in range(lam)] + [("pull", l) for l in range(lam)]
    num = real_numerics(tmp_path, c, seed)
    Scripted(c["protocol"], num, c["train"], c["data"].train_limit).run(events)
    torch.testing.assert_close(num.weights(), real, rtol=1e-4, atol=1e-5)


def async_events(grads: pd.DataFrame) -> list[tuple[str, int]]:
    """The arrival order of a real base-architecture async run, from its trace: each push is the update at its
    applied version and its pull rides along (answered with the next version); a learner's first pull comes
    just before the update at the version its first gradient was computed on."""
    grads = grads.sort_values("applied_version")
    assert grads.applied_version.tolist() == list(range(len(grads)))
    first = grads[grads.step == 0].set_index("learner").pulled_version
    events = []
    for row in grads.itertuples():
        events += [("pull", int(l)) for l, j in first.items() if j == row.applied_version]
        events += [("push", row.learner), ("pull", row.learner)]
    return events


@pytest.mark.slow
def test_a_real_async_runs_order_scripted_into_numerics_gives_its_sigma_scales_and_weights(tmp_path):
    c, seed, (grads, _), real = real_run(tmp_path, "async", 60)
    assert grads.staleness.max() > 0  # real arrivals interleaved: there is staleness to reproduce
    num = real_numerics(tmp_path, c, seed)
    ours, _ = trace_of(Scripted(c["protocol"], num, c["train"], c["data"].train_limit)
                       .run(async_events(grads)).updates)
    theirs = grads.sort_values("applied_version").reset_index(drop=True)
    for column in ("learner", "step", "pulled_version", "applied_version"):
        assert ours[column].tolist() == theirs[column].tolist(), column
    assert ours.scale.tolist() == pytest.approx(theirs.scale.tolist())
    torch.testing.assert_close(num.weights(), real, rtol=1e-4, atol=1e-5)
