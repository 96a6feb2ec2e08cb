"""Every net runs forward and backward, and has the parameter count its docstring and spec_parameter_count say."""
import pytest
import torch
from torch.nn import functional as F

from rudra.models import ModelSpec, build_model, parameter_bytes, parameter_count, spec_parameter_count

CASES = [  # (spec, input shape, classes)
    (ModelSpec(name="mlp"), (64,), 10),
    (ModelSpec(name="mlp", hidden=()), (1, 8, 8), 10),
    (ModelSpec(name="mlp", hidden=(128, 32)), (3, 16, 16), 7),
    (ModelSpec(name="small_cnn"), (3, 32, 32), 10),
    (ModelSpec(name="small_cnn", width=0.5), (1, 8, 8), 10),
    (ModelSpec(name="cifar10_full"), (3, 32, 32), 10),
    (ModelSpec(name="cifar10_full", lrn=False), (1, 8, 8), 10),
    (ModelSpec(name="cifar10_full"), (3, 24, 30), 5),
    (ModelSpec(name="alexnet_style", width=0.125), (3, 224, 224), 100),
    (ModelSpec(name="alexnet_style", width=0.0625), (3, 64, 64), 10),
]


@pytest.mark.parametrize("spec, shape, classes", CASES)
def test_forward_backward_and_counts(spec, shape, classes):
    torch.manual_seed(0)
    model = build_model(spec, shape, classes)
    x, y = torch.randn(2, *shape), torch.tensor([0, classes - 1])
    logits = model(x)
    assert logits.shape == (2, classes)
    F.cross_entropy(logits, y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert parameter_count(model) == spec_parameter_count(spec, shape, classes)
    assert parameter_bytes(model) == 4 * parameter_count(model)


def test_cifar10_full_is_caffes_net():
    """89,578 parameters on CIFAR-10, as Caffe's cifar10_full (the paper's ≈ 90K); pools round up 32→16→8→4."""
    model = build_model(ModelSpec(name="cifar10_full"), (3, 32, 32), 10)
    assert parameter_count(model) == 89_578
    assert model[-1].in_features == 64 * 4 * 4
    layers = list(model)
    sides = [torch.nn.Sequential(*layers[:k])(torch.zeros(1, 3, 32, 32)).shape[-1] for k in (2, 7, 11)]
    assert sides == [16, 8, 4]


def test_alexnet_style_sizes_without_building_it():
    assert spec_parameter_count(ModelSpec(name="alexnet_style"), (3, 224, 224), 1000) == 62_378_344
    assert spec_parameter_count(ModelSpec(name="alexnet_style", width=0.125), (3, 224, 224), 1000) == 1_428_504


@pytest.mark.slow
def test_full_alexnet_style_matches_its_formula():
    model = build_model(ModelSpec(name="alexnet_style"), (3, 224, 224), 1000)
    assert parameter_count(model) == 62_378_344


def test_same_seed_same_weights():
    def weights():
        torch.manual_seed(3)
        return torch.cat([p.flatten() for p in build_model(ModelSpec(name="small_cnn"), (3, 8, 8), 4).parameters()])
    assert torch.equal(weights(), weights())


@pytest.mark.parametrize("name", ["small_cnn", "cifar10_full", "alexnet_style"])
def test_conv_nets_reject_flat_inputs_in_one_line(name):
    with pytest.raises(ValueError, match="needs C×H×W image inputs") as e:
        build_model(ModelSpec(name=name), (64,), 10)
    assert "\n" not in str(e.value)
