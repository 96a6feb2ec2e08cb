"""Models and data sets for Rudra: torch nets, data set loaders, flat parameter buffers, learner sampling,
and the numerical step both drivers share (step.py: a gradient at given weights, the server's SGD update).

The public names below load lazily, so `from models import ModelSpec` (or the
torch-free sizes, specs and sampling) never imports torch; only the nets,
loaders, flat buffers and evaluate do.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ModelSpec": "rudra.models.spec", "DataSpec": "rudra.models.spec",
    "DatasetError": "rudra.models.errors",
    "spec_parameter_count": "rudra.models.size", "spec_parameter_bytes": "rudra.models.size", "data_shape": "rudra.models.size",
    "LearnerStream": "rudra.models.sampling",
    "build_model": "rudra.models.build",
    "flatten_parameters": "rudra.models.flat", "flat_grad": "rudra.models.flat",
    "parameter_count": "rudra.models.flat", "parameter_bytes": "rudra.models.flat",
    "Dataset": "rudra.models.dataset", "load_dataset": "rudra.models.dataset",
    "evaluate": "rudra.models.metrics",
    "FlatNet": "rudra.models.step", "flat_model": "rudra.models.step", "Sgd": "rudra.models.step",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rudra.models' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__():
    return __all__
