"""What the real runtime costs, side by side in one run (targets from issue 6):

1. samples/s of rudra hardsync λ = 1 against a plain torch loop (same model,
   data, minibatch stream, optimizer; one thread each) — target ≥ 0.9×;
2. gradient MB/s arriving at the server of a 4 MB model with 3 async learners,
   against raw gloo send/recv of 4 MB tensors between two processes on
   loopback — target ≥ 0.8×.
rudra's rates come from its trace (server clock, first to last update: not
process start-up, not evaluation). Run: python benchmarks/runtime_overhead.py [--epochs E]
"""
from __future__ import annotations

import argparse
import socket
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn import functional as F

from rudra.models import load_dataset
from rudra.models.spec import DataSpec, ModelSpec
from rudra.models.step import flat_model
from rudra.protocol import ProtocolSpec, TrainSpec
from rudra.runtime import RuntimeSpec, train
from rudra.runtime.compute import stream_at

SEED = 0
CNN = (ModelSpec(name="small_cnn"), DataSpec(name="synthetic", shape="image", samples=2048, test_samples=256))
# 4.2 MB of parameters that cost almost nothing to compute (logistic regression, μ = 1): the server's traffic
# is the bottleneck, not the learners' arithmetic.
FEATURES = 104_857
FOUR_MB = (ModelSpec(name="mlp", hidden=()), DataSpec(name="synthetic", features=FEATURES, samples=64, test_samples=16))


def plain_samples_per_second(model_spec: ModelSpec, data_spec: DataSpec, t: TrainSpec) -> float:
    """A plain torch SGD loop over the learner's stream: samples/s."""
    torch.set_num_threads(1)
    data = load_dataset(data_spec, SEED)
    model, _, _ = flat_model(model_spec, data.input_shape, data.classes, SEED, torch.device("cpu"))
    opt = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum)
    n = len(data.train_y)
    stream = stream_at(n, 0, 1, t.minibatch, SEED, "whole", 0)
    steps = round(t.epochs * n / t.minibatch)
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.from_numpy(stream.next_indices())
        opt.zero_grad()
        F.cross_entropy(model(data.train_x[idx]), data.train_y[idx]).backward()
        opt.step()
    return steps * t.minibatch / (time.perf_counter() - start)


def rudra_gradients_per_second(protocol: ProtocolSpec, model_spec: ModelSpec, data_spec: DataSpec,
                               t: TrainSpec) -> float:
    """Gradients/s applied by a real run, steady state: first to last update in updates.csv (so neither
    the learners' start-up nor the evaluations count)."""
    with tempfile.TemporaryDirectory() as out:
        train(protocol, t, model_spec, data_spec, RuntimeSpec(timeout=60.0, eval_every=t.epochs), seed=SEED,
              out=Path(out), config={}, progress=False)
        updates = pd.read_csv(Path(out) / "updates.csv")
    return (updates.n_gradients.sum() - updates.n_gradients.iloc[0]) / (updates.t.iloc[-1] - updates.t.iloc[0])


def _raw(rank: int, port: int, floats: int, count: int, result) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2,
                            timeout=timedelta(seconds=120))
    buf = torch.zeros(floats)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(count):
        dist.send(buf, 1) if rank == 0 else dist.recv(buf, 0)
    if rank == 1:
        result.put(count * buf.numel() * 4 / (time.perf_counter() - start))
    dist.barrier()


def raw_gloo_bytes_per_second(floats: int, count: int) -> float:
    """Raw gloo send → recv of `floats`-float tensors between two processes on loopback: bytes/s."""
    port = free_port()
    ctx = mp.get_context("spawn")
    result = ctx.SimpleQueue()
    procs = [ctx.Process(target=_raw, args=(r, port, floats, count, result)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    return result.get()


def free_port() -> int:
    """A port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=3.0, help="epochs of the λ = 1 comparison (small_cnn)")
    args = p.parse_args()
    t = TrainSpec(minibatch=32, lr=0.01, momentum=0.9, epochs=args.epochs)
    plain = plain_samples_per_second(*CNN, t)
    one = rudra_gradients_per_second(ProtocolSpec(name="hardsync", learners=1), *CNN, t) * t.minibatch
    t4 = TrainSpec(minibatch=1, lr=0.01, momentum=0.9, epochs=12)
    params = (FEATURES + 1) * 10
    served = rudra_gradients_per_second(ProtocolSpec(name="async", learners=3), *FOUR_MB, t4) * params * 4
    raw = raw_gloo_bytes_per_second(params, 400)
    print(f"{'measure':58s} {'rudra':>10s} {'reference':>10s} {'ratio':>6s} target")
    print(f"{'samples/s, hardsync λ=1 vs plain torch loop (small_cnn, μ=32)':58s} {one:10.0f} {plain:10.0f} "
          f"{one / plain:6.2f} ≥ 0.9")
    print(f"{'gradient MB/s into the server, 4.2 MB model, 3 async learners':58s} {served / 1e6:10.0f} "
          f"{raw / 1e6:10.0f} {served / raw:6.2f} ≥ 0.8")
    print(f"{'  (server in+out: gradients in, weights out)':58s} {2 * served / 1e6:10.0f} {raw / 1e6:10.0f} "
          f"{2 * served / raw:6.2f}")


if __name__ == "__main__":
    main()
