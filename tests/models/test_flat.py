"""The flat buffers alias the model: one tensor per message, no copies."""
import torch
from torch.nn import functional as F

from rudra.models import ModelSpec, build_model, flat_grad, flatten_parameters, parameter_count


def _model():
    torch.manual_seed(0)
    return build_model(ModelSpec(name="small_cnn", width=0.25), (3, 8, 8), 4)


def test_flatten_keeps_values_and_aliases_both_ways():
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    flat = flatten_parameters(model)
    assert flat.dtype == torch.float32 and flat.is_contiguous() and flat.numel() == parameter_count(model)
    assert torch.equal(flat, torch.cat([b.flatten() for b in before]))
    flat.mul_(2)  # the buffer changes the model
    assert all(torch.equal(p, 2 * b) for p, b in zip(model.parameters(), before))
    first = next(model.parameters())
    with torch.no_grad():
        first.add_(1)  # and the model changes the buffer
    assert torch.equal(flat[:first.numel()], (2 * before[0] + 1).flatten())


def test_backward_fills_the_flat_grad_and_sgd_on_the_buffer_moves_the_model():
    model = _model()
    flat, grad = flatten_parameters(model), flat_grad(model)
    x, y = torch.randn(5, 3, 8, 8), torch.tensor([0, 1, 2, 3, 0])
    F.cross_entropy(model(x), y).backward()
    assert grad.abs().sum() > 0
    assert torch.equal(grad, torch.cat([p.grad.flatten() for p in model.parameters()]))
    out_before = model(x).detach()
    flat.sub_(0.1 * grad)
    assert not torch.equal(model(x).detach(), out_before)
    grad.zero_()
    F.cross_entropy(model(x), y).backward()
    assert torch.equal(grad, torch.cat([p.grad.flatten() for p in model.parameters()]))
