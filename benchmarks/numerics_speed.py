"""Numerics mode's cost: against a single-process SGD loop doing the same gradient computations, and its memory
at λ = 1000.

Part 1, side by side in this process (alternating, best of --repeats): numerics mode at λ = 30 (async and
1-softsync, per-gradient scales) against a plain loop that computes the same number of gradients of the same
net at the same μ, each followed by an SGD step (models/step.py), and evaluates as often (twice: start, end).
The ratio is numerics ÷ loop; the issue's target is ≤ 1.3×. μ = 4 on the tiny mlp is the worst case: a
gradient costs least there, so the simulator's own work weighs most.
Part 2, each case in a fresh process: small_cnn at λ = 1000 (and 100), async and 1-softsync; peak RSS, the
most weight versions alive at once, and the seconds it took.
Run: python benchmarks/numerics_speed.py [--repeats N]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rudra.models import evaluate, load_dataset
from rudra.models.sampling import LearnerStream
from rudra.models.spec import DataSpec, ModelSpec
from rudra.models.step import Sgd, flat_model
from rudra.protocol import ProtocolSpec, TrainSpec, TraceWriter
from rudra.sim import ClusterSpec
from rudra.sim.numerics import NumericsCluster

CLUSTER = ClusterSpec(sample_seconds=0.001, jitter_dist="lognormal", jitter_cv=0.1, latency=1e-4)
TASKS = {
    "mlp/digits": (ModelSpec(name="mlp"), DataSpec(name="digits")),
    "small_cnn/synthetic": (ModelSpec(name="small_cnn"), DataSpec(name="synthetic", samples=2000, image_size=16)),
}
SEED = 0


def numerics(protocol: ProtocolSpec, train: TrainSpec, model: ModelSpec, data: DataSpec, samples: int) -> dict:
    """One numerics-mode run (summary trace, evaluated at start and end): seconds, gradients, versions alive."""
    with tempfile.TemporaryDirectory() as out, TraceWriter(Path(out), detail="summary") as writer:
        c = NumericsCluster(protocol, train, CLUSTER, train_samples=samples, model_bytes=100_000,
                            seq=np.random.SeedSequence(SEED), writer=writer, model=model, data=data, seed=SEED,
                            eval_every=10 ** 6)
        start = time.perf_counter()
        c.run()
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "gradients": c.shards[0].gradients, "versions": c.num.peak_versions}


def loop(gradients: int, train: TrainSpec, model: ModelSpec, data: DataSpec) -> float:
    """Seconds of a single-process loop: `gradients` gradients at μ, each an SGD step; two evaluations."""
    torch.set_num_threads(1)
    d = load_dataset(data, SEED)
    net = flat_model(model, d.input_shape, d.classes, SEED)
    sgd = Sgd(net.params, train.momentum, train.weight_decay)
    stream = LearnerStream(len(d.train_y), 0, 1, train.minibatch, SEED)
    start = time.perf_counter()
    evaluate(net.model, d.test_x, d.test_y)
    for _ in range(gradients):
        idx = torch.from_numpy(stream.next_indices())
        net.gradient(d.train_x[idx], d.train_y[idx])
        sgd.apply([(1.0, net.grads)], train.lr)
    evaluate(net.model, d.test_x, d.test_y)
    return time.perf_counter() - start


def side_by_side(repeats: int) -> None:
    print("part 1: numerics mode at λ = 30 against a single-process loop of as many gradients (best of "
          f"{repeats}, alternating)")
    print(f"{'task':<20} {'protocol':<12} {'gradients':>9} {'numerics s':>11} {'loop s':>8} {'ratio':>6}")
    for name, (model, data) in TASKS.items():
        samples = len(load_dataset(data, SEED).train_y)
        train = TrainSpec(minibatch=4, lr=0.01, momentum=0.9, epochs=2)
        for protocol in (ProtocolSpec(name="async", learners=30, lr_policy="per-gradient"),
                         ProtocolSpec(name="softsync", learners=30, n=1)):
            best_n, best_l, grads = float("inf"), float("inf"), 0
            for _ in range(repeats):
                r = numerics(protocol, train, model, data, samples)
                grads = r["gradients"]
                best_n = min(best_n, r["seconds"])
                best_l = min(best_l, loop(grads, train, model, data))
            label = "async" if protocol.name == "async" else "1-softsync"
            print(f"{name:<20} {label:<12} {grads:>9} {best_n:>11.2f} {best_l:>8.2f} {best_n / best_l:>5.2f}×")


CASE = """
import json, resource, sys
sys.path.insert(0, {here!r})
from numerics_speed import numerics, TASKS
from rudra.protocol import ProtocolSpec, TrainSpec
model, data = TASKS["small_cnn/synthetic"]
p = ProtocolSpec(**json.loads({protocol!r}))
r = numerics(p, TrainSpec(minibatch=4, lr=0.01, momentum=0.9, epochs={epochs}), model, data, 2000)
r["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(r))
"""


def memory() -> None:
    print("\npart 2: small_cnn/synthetic (2,000 samples, μ = 4) at many learners, each case in a fresh process")
    print(f"{'learners':>8} {'protocol':<12} {'gradients':>9} {'versions alive (max)':>21} {'peak RSS MB':>12} "
          f"{'seconds':>8}")
    here = str(Path(__file__).parent)
    for lam, epochs in ((100, 4), (1000, 8)):
        for protocol in ({"name": "async", "learners": lam, "lr_policy": "per-gradient"},
                         {"name": "softsync", "learners": lam, "n": 1}):
            code = CASE.format(here=here, protocol=json.dumps(protocol), epochs=epochs)
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            label = "async" if protocol["name"] == "async" else "1-softsync"
            print(f"{lam:>8} {label:<12} {r['gradients']:>9} {r['versions']:>21} {r['rss_mb']:>12.0f} "
                  f"{r['seconds']:>8.1f}")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process, torch and both data sets loaded, part 1 run: {base:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    side_by_side(args.repeats)
    memory()


if __name__ == "__main__":
    main()
