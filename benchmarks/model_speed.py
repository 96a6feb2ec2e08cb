"""Milliseconds per minibatch (forward + backward) of the paper's cifar10_full and the digits MLP, 1 and 2 threads.

These are the learner compute times the simulator's per-learner speed stands
for. Run: python benchmarks/model_speed.py
"""
from __future__ import annotations

import time

import torch
from torch.nn import functional as F

from rudra.models import ModelSpec, build_model

CASES = [  # (label, spec, input shape, classes, μ)
    *(("cifar10_full", ModelSpec(name="cifar10_full"), (3, 32, 32), 10, mb) for mb in (4, 16, 128)),
    ("cifar10_full, no LRN", ModelSpec(name="cifar10_full", lrn=False), (3, 32, 32), 10, 128),
    ("mlp (64) on digits", ModelSpec(name="mlp"), (64,), 10, 32),
]
THREADS = (1, 2)


def ms_per_minibatch(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, seconds: float = 1.0) -> float:
    """Median over repeats of one forward + backward, after a warm-up."""
    def step():
        model.zero_grad(set_to_none=False)
        F.cross_entropy(model(x), y).backward()
    for _ in range(3):
        step()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def main() -> None:
    print(f"torch {torch.__version__}, forward + backward, median ms per minibatch")
    print(f"{'model':<22}{'μ':>5}" + "".join(f"{f'{t} thread' + 's' * (t > 1):>12}" for t in THREADS))
    for label, spec, shape, classes, mb in CASES:
        torch.manual_seed(0)
        model = build_model(spec, shape, classes)
        x, y = torch.randn(mb, *shape), torch.randint(classes, (mb,))
        row = []
        for threads in THREADS:
            torch.set_num_threads(threads)
            row.append(ms_per_minibatch(model, x, y))
        print(f"{label:<22}{mb:>5}" + "".join(f"{ms:>12.2f}" for ms in row))


if __name__ == "__main__":
    main()
