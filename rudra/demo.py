"""`rudra demo`: the three jobs end to end on shipped data, in a couple of minutes.

1. predict: the paper's CIFAR-10 cluster (λ = 30, μ = 4) simulated under each
   protocol — no data or cluster needed;
2. train: the digits experiment for real on this machine (λ = 4 processes)
   under hardsync and async with each learning-rate policy;
3. say where the traces are and how to read them.
"""
from __future__ import annotations

import re
from pathlib import Path

from rudra.config import load
from rudra.runner import run_experiment

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PREDICT = [  # (label, overrides of examples/paper_cifar10.toml)
    ("hardsync", ["protocol.name=hardsync", "protocol.n="]),
    ("1-softsync", ["protocol.n=1"]),
    ("5-softsync", ["protocol.n=5"]),
    ("30-softsync", ["protocol.n=30"]),
]
TRAIN = [  # (label, overrides of examples/demo_digits.toml)
    ("1 learner (baseline)", ["protocol.learners=1", "protocol.name=async", "protocol.lr_policy=constant"]),
    ("hardsync, constant", ["protocol.name=hardsync", "protocol.lr_policy=constant"]),
    ("async, constant", ["protocol.name=async", "protocol.lr_policy=constant"]),
    ("async, mean-staleness", ["protocol.name=async", "protocol.lr_policy=mean-staleness"]),
    ("async, per-gradient", ["protocol.name=async", "protocol.lr_policy=per-gradient"]),
]


def slug(label: str) -> str:
    """A folder name for a table row: '1 learner (baseline)' -> '1-learner-baseline'."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def predict(out: Path, progress: bool) -> str:
    """Simulate the paper's CIFAR-10 cluster under each protocol (2 epochs each)."""
    rows = []
    for label, overrides in PREDICT:
        exp = load(EXAMPLES / "paper_cifar10.toml", [*overrides, "train.epochs=2"])
        s = run_experiment(exp, "simulate", out / "predict" / slug(label), progress)
        st = s["staleness"]
        rows.append([label, f"{s['seconds_per_epoch']:.2f}", f"{s['gradients_per_second']:,.0f}",
                     f"{st['mean']:.2f}", f"{st['p99']}", f"{s['sim']['speedup']:.1f}×"])
    return table(["protocol", "s/epoch", "gradients/s", "<σ>", "σ p99", "speedup"], rows)


def train_all(out: Path, progress: bool) -> str:
    """Train the digits experiment for real under each protocol and policy."""
    rows = []
    for label, overrides in TRAIN:
        exp = load(EXAMPLES / "demo_digits.toml", overrides)
        s = run_experiment(exp, "train", out / "train" / slug(label), progress)
        rows.append([label, f"{100 * s['test_error']:.1f}%", f"{s['seconds']:.1f}",
                     f"{s['staleness']['mean']:.2f}", f"{s['gradients']}"])
    return table(["protocol, lr policy", "test error", "seconds", "<σ>", "gradients"], rows)


def demo(out: Path, progress: bool) -> int:
    print("1. Predict: the paper's CIFAR-10 cluster (cifar10_full, λ = 30, μ = 4), simulated for 2 epochs",
          flush=True)
    print(predict(out, progress), flush=True)
    print("\n2. Train for real: mlp on scikit-learn's digits, λ = 4 learner processes on this machine", flush=True)
    print(train_all(out, progress), flush=True)
    print(f"\n3. Traces: {out}/predict/* and {out}/train/* (run.json, updates.csv, gradients.csv, ...).\n"
          "   Read one with: python -c \"from rudra.analysis import read_trace; t = read_trace('DIR'); print(t.updates)\"\n"
          "   Next: copy examples/*.toml and run `rudra simulate FILE` or `rudra train FILE`.")
    return 0
