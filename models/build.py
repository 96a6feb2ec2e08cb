"""One entry point from a ModelSpec to a torch module; the caller seeds it with torch.manual_seed."""
from __future__ import annotations

from torch import nn

from rudra.models.alexnet_style import AlexNetStyle
from rudra.models.cifar10_full import Cifar10Full
from rudra.models.mlp import MLP
from rudra.models.small_cnn import SmallCNN
from rudra.models.spec import ModelSpec


def build_model(spec: ModelSpec, input_shape: tuple[int, ...], classes: int) -> nn.Module:
    """The network `spec` names, for inputs of `input_shape` (without the batch axis) and `classes` outputs."""
    input_shape = tuple(input_shape)
    if spec.name == "mlp":
        return MLP(input_shape, spec.hidden, classes)
    if len(input_shape) != 3:
        raise ValueError(f"model {spec.name} needs C×H×W image inputs, got shape {input_shape}; "
                         "use [data] shape = \"image\" or model mlp")
    if spec.name == "small_cnn":
        return SmallCNN(input_shape[0], classes, spec.width)
    if spec.name == "cifar10_full":
        return Cifar10Full(input_shape, classes, spec.lrn)
    if spec.name == "alexnet_style":
        return AlexNetStyle(input_shape[0], classes, spec.width)
    raise ValueError(f"unknown model {spec.name!r}; expected one of mlp, small_cnn, cifar10_full, alexnet_style")


def input_problem(spec: ModelSpec, input_shape: tuple[int, ...], classes: int) -> str | None:
    """Why the net cannot take inputs of `input_shape` (e.g. too small for its convolutions and pools), or None.

    Runs one forward pass on torch's meta device: shapes only, no memory and no arithmetic.
    """
    import torch
    try:
        with torch.device("meta"):
            build_model(spec, input_shape, classes)(torch.empty(1, *input_shape))
    except (RuntimeError, ValueError) as e:
        return str(e).strip().splitlines()[0]
    return None
