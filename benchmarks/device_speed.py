"""Where a GPU pays: numerics mode and a real run of one configuration on the CPU and on CUDA, side by side.

small_cnn at width 2 (77 k weights) on synthetic 32×32 colour images, μ = 64, 2 epochs, async, every process with
--threads torch threads. Numerics mode (λ = 16, one process doing every learner's arithmetic) and a real run
(λ = 4 learner processes and a server) each run once with `[runtime] device = "cpu"` and once with "cuda".
Printed: wall seconds of each (numerics) or time per epoch (real), cuda ÷ cpu, and the final test error of
both. In numerics mode the cluster model fixes the order, so the device changes only the rounding and the two
errors should be close; a real async run's order follows its timing, so its two errors are two different runs.
Without CUDA it says so and stops (CI has none).
Run: python benchmarks/device_speed.py [--threads N] [--out DIR]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from rudra.config import parse
from rudra.runner import run_experiment

BASE = {"model": {"name": "small_cnn", "width": 2.0},
        "data": {"name": "synthetic", "samples": 4096, "test_samples": 1000, "image_size": 32, "noise": 0.5},
        "train": {"minibatch": 64, "lr": 0.05, "momentum": 0.5, "epochs": 2},
        "cluster": {"sample_seconds": 1e-4, "latency": 1e-4},
        "sim": {"trace": "summary", "speedup": False}}
CASES = {"numerics mode, λ = 16": ("simulate", 16), "real run, λ = 4": ("train", 4)}


def run(mode: str, learners: int, device: str, threads: int, out: Path) -> tuple[float, dict]:
    """Wall seconds and summary of one run of the configuration on `device`."""
    doc = {**BASE, "experiment": {"name": f"{mode}-{device}"},
           "protocol": {"name": "async", "learners": learners},
           "runtime": {"device": device, "threads": threads, "trace": "summary", "timeout": 120.0},
           "sim": {**BASE["sim"], "numerics": mode == "simulate"}}
    start = time.perf_counter()
    summary = run_experiment(parse(doc), mode, out / f"{mode}-{device}", progress=False)
    return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4, help="torch threads per process (default 4)")
    parser.add_argument("--out", help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("device_speed: no CUDA on this machine, nothing to compare")
        return
    print(f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, {args.threads} threads per process")
    print(f"{'case':<24} {'measure':<16} {'cpu':>8} {'cuda':>8} {'cuda÷cpu':>9} {'test err cpu':>13} {'cuda':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        for case, (mode, learners) in CASES.items():
            (cpu_wall, cpu), (gpu_wall, gpu) = (run(mode, learners, d, args.threads, out) for d in ("cpu", "cuda"))
            if mode == "simulate":
                measure, a, b = "wall s", cpu_wall, gpu_wall
            else:
                measure, a, b = "s per epoch", cpu["seconds_per_epoch"], gpu["seconds_per_epoch"]
            print(f"{case:<24} {measure:<16} {a:>8.2f} {b:>8.2f} {b / a:>9.2f} "
                  f"{100 * cpu['test_error']:>12.1f}% {100 * gpu['test_error']:>5.1f}%")


if __name__ == "__main__":
    main()
