"""Known-good single-process baselines (no Rudra protocol) that the protocols are compared against.

A plain torch loop: one LearnerStream, SGD with momentum, mean cross-entropy over μ samples.
"""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from rudra.models import DataSpec, LearnerStream, ModelSpec, build_model, evaluate, load_dataset

SYNTHETIC_IMAGES = DataSpec(name="synthetic", samples=2000, test_samples=500, image_size=16)


def _train(model_spec, data_spec, epochs, lr, minibatch=32, seed=0):
    """Test error after `epochs` of plain SGD (momentum 0.9)."""
    data = load_dataset(data_spec, seed)
    torch.manual_seed(seed)
    model = build_model(model_spec, data.input_shape, data.classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    stream = LearnerStream(len(data.train_y), 0, 1, minibatch, seed)
    for _ in range(epochs * len(data.train_y) // minibatch):
        i = torch.from_numpy(stream.next_indices())
        optimizer.zero_grad()
        F.cross_entropy(model(data.train_x[i]), data.train_y[i]).backward()
        optimizer.step()
    return evaluate(model, data.test_x, data.test_y)[1]


def test_mlp_on_digits_reaches_under_5_percent_test_error():
    assert _train(ModelSpec(name="mlp"), DataSpec(name="digits"), epochs=20, lr=0.05) < 0.05


def test_small_cnn_learns_synthetic_images_that_a_linear_model_cannot():
    """Patterns at random positions: the CNN finds them (chance is 90% error), logistic regression does not."""
    cnn = _train(ModelSpec(name="small_cnn", width=0.5), SYNTHETIC_IMAGES, epochs=8, lr=0.02)
    linear = _train(ModelSpec(name="mlp", hidden=()), SYNTHETIC_IMAGES, epochs=8, lr=0.01)
    assert cnn < 0.2 and linear > 0.7


def test_mlp_learns_synthetic_flat_data_that_a_linear_model_cannot():
    spec = DataSpec(name="synthetic", shape="flat", samples=5000, noise=0.0)
    mlp = _train(ModelSpec(name="mlp", hidden=(128,)), spec, epochs=10, lr=0.02)
    linear = _train(ModelSpec(name="mlp", hidden=()), spec, epochs=5, lr=0.05)
    assert mlp < 0.3 and linear > 0.8


def test_evaluate_returns_mean_cross_entropy_and_error_fraction_and_keeps_the_mode():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    y = torch.tensor([0, 1, 1])
    model.train()
    loss, error = evaluate(model, x, y, batch=2)
    assert error == pytest.approx(1 / 3)
    assert loss == pytest.approx(F.cross_entropy(x, y).item())
    assert model.training
