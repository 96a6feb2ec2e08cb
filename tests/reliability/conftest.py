"""Real `rudra train` runs in a subprocess, disturbed from outside with signals, as a user's machine would.

A run here is the shipped async digits example with λ = 2 learners, set to
last far longer than any test (1000 epochs), without checkpoints (which would
flush the trace), evaluating every half epoch so that metrics.csv (flushed
row by row) shows when it is serving.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rudra.runtime.processes import alive, descendants, of_run


EXAMPLE = Path(__file__).parents[2] / "examples" / "train_digits_async.toml"
SETTINGS = ("protocol.learners=2", "train.epochs=1000", "runtime.eval_every=0.5", "runtime.checkpoint_every=0")
STARTUP = 120.0  # seconds a loaded 2-core machine may take to start the processes (their rendezvous limit)


class Run:
    """`rudra train` of EXAMPLE with SETTINGS and runtime.timeout = `timeout`, into tmp/run."""

    def __init__(self, tmp: Path, timeout: float):
        self.timeout, self.out = timeout, tmp / "run"
        sets = [a for s in (*SETTINGS, f"runtime.timeout={timeout}") for a in ("--set", s)]
        self.proc = subprocess.Popen([sys.executable, "-m", "rudra", "train", str(EXAMPLE), "--out", str(self.out),
                                      *sets],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp,
                                     env=dict(os.environ, OMP_NUM_THREADS="1"))
        self.pids: list[int] = []

    def serving(self, evaluations: int = 2) -> dict[str, int]:
        """Wait until shard 0 has written `evaluations` metrics rows (so it is applying updates); the run's
        processes by name. Every process under the launcher is remembered for `gone`."""
        deadline = time.monotonic() + STARTUP
        while len(rows(self.out / "metrics.csv")) < evaluations:
            assert self.proc.poll() is None, f"the run ended early: {self.proc.communicate()[1]}"
            assert time.monotonic() < deadline, "the run did not start serving"
            time.sleep(0.1)
        named = of_run(self.proc.pid)
        assert {"shard0", "learner0", "learner1"} <= set(named), named
        self.pids = descendants(self.proc.pid)
        return named

    def end(self, within: float) -> tuple[int, str]:
        """Wait at most `within` seconds for `rudra train` to exit; (exit code, stderr)."""
        try:
            _, err = self.proc.communicate(timeout=within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"rudra train still running {within:g} s later") from None
        return self.proc.returncode, err

    def left_over(self, within: float) -> list[int]:
        """The processes of the run (remembered by `serving`) still alive after up to `within` seconds."""
        deadline = time.monotonic() + within
        while (left := [p for p in self.pids if alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def kill_all(self) -> None:
        for pid in [self.proc.pid, *self.pids]:
            if alive(pid):
                os.kill(pid, 9)


@pytest.fixture
def start(tmp_path):
    """start(timeout) -> Run; whatever a test leaves running is killed afterwards."""
    runs: list[Run] = []

    def make(timeout: float = 5.0) -> Run:
        runs.append(Run(tmp_path, timeout))
        return runs[-1]

    yield make
    for run in runs:
        run.kill_all()
        run.proc.wait(30)


def rows(path: Path) -> list[dict]:
    """The data rows of a trace CSV file ([] while it does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
