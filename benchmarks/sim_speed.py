"""Simulated gradients per wall-clock second: the full simulator against the naive SimPy pattern.

Full model: network latency + bandwidth, a finite server NIC (FIFO), jittered
compute and update cost, the protocol state machine, and a summary trace.
Bare pattern: learners contending for a `simpy.Resource` server and putting
gradients in a `simpy.Store` mailbox (compute timeout, request, update timeout,
release, put, get: 6 events per gradient) with no protocol, network or trace.
Both run side by side in this process, alternating, and each cell reports the best of
--repeats runs of each (the machines are noisy: single runs swing by ±15%); the last line
checks λ = 100 000 in memory.
Run: python benchmarks/sim_speed.py [--repeats N]
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import simpy

from rudra.protocol import ProtocolSpec, TrainSpec
from rudra.sim import ClusterSpec, SimSpec, simulate

T, U = 0.01, 1e-6
CLUSTER = ClusterSpec(sample_seconds=T, jitter_dist="lognormal", jitter_cv=0.1, latency=1e-4, bandwidth=1.25e9,
                      server_bandwidth=1.25e10, update_seconds=U)


def full(name: str, learners: int, gradients: int) -> float:
    """Gradients per wall second of `simulate` (summary trace, no λ = 1 baseline)."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        s = simulate(ProtocolSpec(name=name, learners=learners), TrainSpec(minibatch=1, epochs=1), CLUSTER,
                     SimSpec(trace="summary", speedup=False), train_samples=gradients, model_bytes=100_000, seed=0,
                     out=Path(out), config={}, progress=False)
        return s["gradients"] / (time.perf_counter() - start)


def bare(learners: int, gradients: int) -> float:
    """Gradients per wall second of the naive Resource + Store pattern."""
    env = simpy.Environment()
    server, mailbox = simpy.Resource(env, capacity=1), simpy.Store(env)
    done = env.event()

    def learner():
        while True:
            yield env.timeout(T)
            req = server.request()
            yield req
            yield env.timeout(U)
            server.release(req)
            yield mailbox.put(1)

    def collector():
        for _ in range(gradients):
            yield mailbox.get()
        done.succeed()

    for _ in range(learners):
        env.process(learner())
    env.process(collector())
    start = time.perf_counter()
    env.run(until=done)
    return gradients / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs of each, best counts (default 5)")
    args = ap.parse_args()
    print(f"{'protocol':<9} {'λ':>6} {'gradients':>9} {'full grad/s':>12} {'bare grad/s':>12} {'full/bare':>9}")
    for learners in (8, 1024, 16384):
        gradients = max(200_000, 10 * learners)
        best = {"bare": 0.0, "async": 0.0, "hardsync": 0.0}
        for _ in range(args.repeats):
            best["bare"] = max(best["bare"], bare(learners, gradients))
            for name in ("async", "hardsync"):
                best[name] = max(best[name], full(name, learners, gradients))
        b = best["bare"]
        for name in ("async", "hardsync"):
            f = best[name]
            print(f"{name:<9} {learners:>6} {gradients:>9} {f:>12,.0f} {b:>12,.0f} {f / b:>9.2f}", flush=True)
    start = time.perf_counter()
    rate = full("async", 100_000, 300_000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)
    print(f"async λ = 100000: 300000 gradients at {rate:,.0f} grad/s in {time.perf_counter() - start:.1f} s; "
          f"peak RSS of this process {peak:.2f} GiB (limit 2 GiB)")


if __name__ == "__main__":
    main()
