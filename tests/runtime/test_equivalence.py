"""Hardsync with λ = 4, μ = 8 is single-process SGD with batch 32 over the same samples in the same order.

The run's final weights (its last checkpoint) match a plain torch loop that
concatenates the four learners' minibatches step by step, with the same
momentum, weight decay and learning rate; the trace shows K updates of four
gradients each, all with σ = 0.
"""
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from rudra.models import load_dataset
from rudra.models.step import flat_model
from rudra.runtime import checkpoint
from rudra.runtime.compute import stream_at

from .conftest import SEED, launch, specs

K = 10  # updates
LAM, MU, N = 4, 8, 256


def single_process_weights() -> torch.Tensor:
    s = specs()
    data = load_dataset(s["data"], SEED)
    model, params, _ = flat_model(s["model"], data.input_shape, data.classes, SEED, torch.device("cpu"))
    t = s["train"]
    opt = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)
    streams = [stream_at(N, l, LAM, MU, SEED, s["data"].sampling, 0) for l in range(LAM)]
    for _ in range(K):
        idx = torch.from_numpy(__import__("numpy").concatenate([st.next_indices() for st in streams]))
        opt.zero_grad()
        F.cross_entropy(model(data.train_x[idx]), data.train_y[idx]).backward()
        opt.step()
    return params


@pytest.mark.slow
def test_hardsync_equals_single_process_sgd_with_batch_mu_lambda(run_dir):
    summary = launch(run_dir, train={"epochs": K * LAM * MU / N}, runtime={"checkpoint_every": K})
    assert summary["updates"] == K and summary["gradients"] == K * LAM
    weights = checkpoint.load(run_dir, 0).weights
    expected = single_process_weights()
    assert weights.shape == expected.shape
    torch.testing.assert_close(weights, expected, rtol=1e-4, atol=1e-5)

    updates = pd.read_csv(run_dir / "updates.csv")
    assert updates.version.tolist() == list(range(1, K + 1)) and (updates.n_gradients == LAM).all()
    grads = pd.read_csv(run_dir / "gradients.csv")
    assert len(grads) == K * LAM and (grads.staleness == 0).all() and (grads.scale == 1 / LAM).all()
    assert sorted(grads.groupby("learner").step.max()) == [K - 1] * LAM
    assert (grads.t_pull <= grads.t_compute_start).all() and (grads.t_compute_end <= grads.t_applied).all()
