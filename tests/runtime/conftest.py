"""Small real runs for the runtime tests: mlp on a few hundred digits, short timeouts, one thread per process."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from models.spec import DataSpec, ModelSpec
from protocol import ProtocolSpec, TrainSpec
from runtime import RuntimeSpec

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
    """Train locally with specs(**changes) into `out`; the summary."""
    from runtime import train
    s = specs(**changes)
    return train(s["protocol"], s["train"], s["model"], s["data"], s["runtime"], seed=SEED, out=out,
                 config={"test": True}, progress=False, resume=resume)


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return tmp_path / "run"
