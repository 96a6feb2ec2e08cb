"""Small real runs for the runtime tests: mlp on a few hundred digits, short timeouts, one thread per process."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from rudra.models.spec import DataSpec, ModelSpec
from rudra.protocol import ProtocolSpec, TrainSpec
from rudra.runtime import RuntimeSpec

os.environ.setdefault("OMP_NUM_THREADS", "1")

SEED = 7
BASE = {
    "protocol": ProtocolSpec(name="hardsync", learners=4),
    "train": TrainSpec(minibatch=8, lr=0.05, momentum=0.9, weight_decay=1e-3, epochs=1.0),
    "model": ModelSpec(hidden=(32,)),
    "data": DataSpec(train_limit=256),
    "runtime": RuntimeSpec(timeout=5.0),
}


def specs(**changes) -> dict:
    """The test specs with some fields changed, e.g. specs(protocol={"name": "async"}, runtime={"timeout": 3})."""
    return {k: replace(v, **changes.get(k, {})) for k, v in BASE.items()}


def launch(out: Path, resume: bool = False, **changes) -> dict:
    """Train locally with specs(**changes) into `out`; the run's summary (rudra.analysis's, the runtime's own
    figures under "runtime")."""
    from rudra.analysis import summarize
    from rudra.runtime import train
    s = specs(**changes)
    train(s["protocol"], s["train"], s["model"], s["data"], s["runtime"], seed=SEED, out=out,
          config={"test": True}, progress=False, resume=resume)
    return summarize(out)


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return tmp_path / "run"


def check_trace(out: Path, protocol: ProtocolSpec, train: TrainSpec, train_samples: int) -> dict:
    """Assert the run directory holds a complete, self-consistent trace; returns its tables.

    Complete: every file with the shared schema, one gradients row per applied
    gradient, versions 1..U without gaps, each learner's steps without gaps.
    Consistent with protocol/: σ = applied − pulled, every scale and lr what
    the LR policy gives for that σ and update size (and the epoch schedule).
    """
    import pandas as pd
    from rudra.protocol import SCHEMA, LrSchedule, make_policy, read_run_json

    run = read_run_json(out)
    assert run["kind"] == "real" and run["config"] == {"test": True} and run["status"] == "finished"
    t = {name: pd.read_csv(out / name) for name in SCHEMA}
    for name, columns in SCHEMA.items():
        assert list(t[name].columns) == list(columns), name
    updates, grads = t["updates.csv"], t["gradients.csv"]
    assert updates.version.tolist() == list(range(1, len(updates) + 1))
    assert updates.n_gradients.sum() == len(grads) == run["gradients"]
    assert (grads.staleness == grads.applied_version - grads.pulled_version).all() and (grads.staleness >= 0).all()
    per_update = grads.groupby("applied_version").size()
    assert per_update.tolist() == updates.n_gradients.tolist()
    for _, steps in grads.groupby("learner").step:
        assert sorted(steps) == list(range(len(steps)))
    policy = make_policy(protocol.lr_policy, protocol.softness)
    c = grads.applied_version.map(dict(zip(updates.version - 1, updates.n_gradients)))
    expected = [policy.scale(s, n) for s, n in zip(grads.staleness, c)]
    assert grads.scale.tolist() == pytest.approx(expected)
    schedule = LrSchedule(train.lr, train.lr_steps, train.lr_gamma, train_samples / train.minibatch)
    before = updates.n_gradients.cumsum() - updates.n_gradients
    assert updates.lr.tolist() == pytest.approx([policy.lr(schedule.at(g)) for g in before])
    assert (grads.t_pull <= grads.t_compute_start).all() and (grads.t_compute_start <= grads.t_compute_end).all()
    # a push is stamped once its messages are filled (copying the gradient takes microseconds, the clock
    # ticks in nanoseconds), so the exchange is in the trace as it is in a simulated one
    assert (grads.t_compute_end < grads.t_push).all() and (grads.t_push <= grads.t_applied).all()
    # push → applied as shard 0 split it: its parts add up to the trace's (over this session's gradients: all of
    # them unless the run was resumed), and the two on shard 0's own clock are >= 0
    path = run["runtime"]["push_path"]
    if not run["runtime"]["resumed"]:
        assert sum(path.values()) == pytest.approx((grads.t_applied - grads.t_push).mean(), abs=1e-9)
    assert path["queued"] >= 0 and path["served"] >= 0
    assert t["staleness.csv"]["count"].sum() == len(grads) == t["learners.csv"].gradients.sum()
    metrics = t["metrics.csv"]
    assert metrics.epoch.is_monotonic_increasing and metrics.test_error.between(0, 1).all()
    return t
