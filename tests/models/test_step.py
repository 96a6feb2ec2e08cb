"""The shared numerical step: a gradient at given flat weights, and Σ scale·g through the server's SGD.

Both are checked against plain torch on the same net, and on several weight
versions held in one process, as the simulator's numerics mode will hold them.
"""
import copy

import torch
from torch.nn import functional as F

from rudra.models import DataSpec, ModelSpec, build_model, load_dataset
from rudra.models.step import Sgd, flat_model

SPEC, DATA = ModelSpec(hidden=(16,)), DataSpec(train_limit=64)


def _setup():
    data = load_dataset(DATA, 0)
    net = flat_model(SPEC, data.input_shape, data.classes, seed=3)
    return data, net


def test_flat_model_starts_every_caller_from_the_seed_weights():
    data, net = _setup()
    torch.manual_seed(3)
    plain = build_model(SPEC, data.input_shape, data.classes)
    assert torch.equal(net.params, torch.cat([p.detach().flatten() for p in plain.parameters()]))


def test_gradient_at_given_weights_is_torch_autograd_there():
    data, net = _setup()
    x, y = data.train_x[:8], data.train_y[:8]
    other = net.params + 0.01 * torch.randn(len(net.params), generator=torch.Generator().manual_seed(1))
    loss = net.gradient(x, y, weights=other)
    torch.manual_seed(3)
    plain = build_model(SPEC, data.input_shape, data.classes)
    torch.nn.utils.vector_to_parameters(other, plain.parameters())
    expected = F.cross_entropy(plain(x), y)
    expected.backward()
    assert loss == expected.item()
    assert torch.equal(net.grads, torch.cat([p.grad.flatten() for p in plain.parameters()]))


def test_gradient_is_a_function_of_weights_and_minibatch_only():
    """Two weight versions in one process: computing on one leaves no trace in the other's gradient."""
    data, net = _setup()
    x, y = data.train_x[:8], data.train_y[:8]
    v0 = net.params.clone()
    v1 = v0 * 0.5
    net.gradient(x, y, weights=v0)
    g0 = net.grads.clone()
    net.gradient(x, y, weights=v1)
    net.gradient(x, y, weights=v0)
    assert torch.equal(net.grads, g0)


def test_sgd_applies_the_scaled_sum_as_one_torch_sgd_step():
    weights = torch.arange(6, dtype=torch.float32)
    g1, g2 = torch.ones(6), torch.linspace(-1, 1, 6)
    sgd = Sgd(weights, momentum=0.9, weight_decay=0.01)
    reference = torch.nn.Parameter(weights.clone())
    opt = torch.optim.SGD([reference], lr=0.1, momentum=0.9, weight_decay=0.01)
    for lr in (0.1, 0.05):  # the second step also exercises the momentum buffer and a changed lr
        sgd.apply([(0.5, g1), (0.25, g2)], lr)
        opt.param_groups[0]["lr"] = lr
        reference.grad = 0.5 * g1 + 0.25 * g2
        opt.step()
        assert torch.equal(weights, reference.detach())  # updated in place: the caller's buffer is the weights


def test_sgd_state_round_trips():
    """Through a copy, as a checkpoint does (torch's state_dict hands out the live momentum buffer)."""
    a, b = torch.zeros(4), torch.zeros(4)
    sgd_a, sgd_b = Sgd(a, 0.9, 0.0), Sgd(b, 0.9, 0.0)
    sgd_a.apply([(1.0, torch.ones(4))], 0.1)
    b.copy_(a)
    sgd_b.load_state_dict(copy.deepcopy(sgd_a.state_dict()))
    sgd_a.apply([(1.0, torch.ones(4))], 0.1)
    sgd_b.apply([(1.0, torch.ones(4))], 0.1)
    assert torch.equal(a, b)
