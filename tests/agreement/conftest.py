"""One experiment, run once per driver and kept for the session: `runs("adv*", "real")` is its trace.

The config is small (mlp on 256 digits, λ = 4, μ = 2, two epochs: 256 gradients), so the real runs take
a few seconds each; both drivers get exactly the same validated Experiment through the one runner.
"""
from __future__ import annotations

import copy

import pytest

from rudra.analysis import read_trace
from rudra.config import parse
from rudra.runner import run_experiment

LEARNERS = 4
BASE = {
    "experiment": {"name": "agreement", "seed": 7},
    "protocol": {"learners": LEARNERS, "lr_policy": "constant"},
    "train": {"minibatch": 2, "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3, "epochs": 2},
    "model": {"name": "mlp", "hidden": [32]},
    "data": {"name": "digits", "train_limit": 256},
    "runtime": {"timeout": 5.0, "trace": "full"},
    "sim": {"trace": "full", "speedup": False},
}
PROTOCOLS = {  # the [protocol] settings of each case
    "async": {"name": "async"},
    "softsync": {"name": "softsync", "n": 2},
    "hardsync": {"name": "hardsync"},
    "async bounded": {"name": "async", "max_staleness": 1},
    "adv": {"name": "async", "architecture": "adv", "shards": 2},
    "adv*": {"name": "async", "architecture": "adv*"},
    "adv* bounded": {"name": "async", "architecture": "adv*", "max_staleness": 1},
}
MODES = {"sim": "simulate", "real": "train"}


def experiment(case: str):
    doc = copy.deepcopy(BASE)
    doc["protocol"].update(PROTOCOLS[case])
    return parse(doc)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """runs(case, driver) -> the run's Trace; each (case, driver) runs once per session."""
    done: dict = {}

    def get(case: str, driver: str):
        if (case, driver) not in done:
            out = tmp_path_factory.mktemp("agreement") / f"{case.replace(' ', '-')}-{driver}"
            run_experiment(experiment(case), MODES[driver], out, progress=False)
            done[case, driver] = read_trace(out)
        return done[case, driver]

    return get
