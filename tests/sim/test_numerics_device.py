"""Numerics mode computes on `[runtime] device`: refused in one line where that device is absent, and on a GPU
it trains the same run as on the CPU (the CUDA test skips without one)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from rudra.protocol import ProtocolSpec
from rudra.sim.errors import SimError

from .test_numerics import numerics, simulated

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@NO_CUDA
def test_numerics_on_an_absent_gpu_is_refused_in_one_line(tmp_path):
    with pytest.raises(SimError, match=r"^numerics: runtime.device = 'cuda': CUDA is not available on this machine"):
        numerics(tmp_path, ProtocolSpec(name="async", learners=2), device="cuda")


@NO_CUDA
def test_simulate_numerics_on_an_absent_gpu_says_so_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "rudra", "simulate", "examples/train_digits_async.toml", "--numerics",
                        "--set", "runtime.device=cuda:0", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and r.stderr.count("\n") == 1, r.stderr
    assert "runtime.device = 'cuda:0': CUDA is not available" in r.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA on this machine")
@pytest.mark.parametrize("protocol", [ProtocolSpec(name="async", learners=6),
                                      ProtocolSpec(name="hardsync", learners=4, architecture="adv", shards=2)],
                         ids=["async", "hardsync-adv"])
def test_numerics_on_cuda_trains_the_cpus_run(tmp_path, protocol):
    cpu, cpu_grads, _, cpu_metrics = simulated(tmp_path, protocol)
    gpu, gpu_grads, _, gpu_metrics = simulated(tmp_path, protocol, device="cuda")
    assert gpu.num.data.train_x.is_cuda and gpu.num.net.params.is_cuda
    # the cluster model decides the order, so the trace is the same; only the arithmetic's rounding differs
    assert gpu_grads[["learner", "step", "pulled_version", "applied_version"]].equals(
        cpu_grads[["learner", "step", "pulled_version", "applied_version"]])
    torch.testing.assert_close(gpu.num.weights(), cpu.num.weights(), rtol=1e-4, atol=1e-5)
    assert gpu_metrics.test_error.tolist() == pytest.approx(cpu_metrics.test_error.tolist(), abs=0.02)
