"""Helpers for simulator tests: run a small experiment into tmp_path and read its trace and summary."""
from pathlib import Path

import pandas as pd
import pytest

from rudra.analysis import summarize
from rudra.protocol import ProtocolSpec, TrainSpec
from rudra.sim import ClusterSpec, SimSpec, simulate


class Run:
    """A finished simulation: its summary (rudra.analysis's, the simulator's figures under "sim") and its
    trace files as DataFrames."""

    def __init__(self, out: Path, summary: dict):
        self.out, self.summary = out, summary

    def csv(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.out / f"{name}.csv")


@pytest.fixture
def run_sim(tmp_path):
    """run_sim(protocol=dict, cluster=dict, ...) -> Run; unspecified settings keep their defaults."""
    count = iter(range(1000))

    def run(protocol=None, train=None, cluster=None, sim=None, *, samples=1000, model_bytes=1000, seed=0):
        out = tmp_path / f"run{next(count)}"
        simulate(ProtocolSpec(**(protocol or {})), TrainSpec(**{"minibatch": 1, "epochs": 1, **(train or {})}),
                 ClusterSpec(**(cluster or {})), SimSpec(**{"speedup": False, **(sim or {})}),
                 train_samples=samples, model_bytes=model_bytes, seed=seed, out=out, config={"test": True},
                 progress=False)
        return Run(out, summarize(out))

    return run
