"""Learners compute on the GPU (the messages stay on gloo) and train like on the CPU; skipped without CUDA."""
import pytest
import torch

from .test_protocols import MARGIN, run_case, single_learner_error

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA on this machine")


@pytest.mark.slow
def test_learners_on_cuda_train_like_on_cpu(run_dir):
    summary, _, _ = run_case(run_dir, runtime={"device": "cuda"}, name="async", lr_policy="mean-staleness")
    assert summary["runtime"]["device"] == "cuda" and summary["test_error"] <= single_learner_error() + MARGIN
