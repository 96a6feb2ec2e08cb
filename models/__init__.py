"""Models and data sets for Rudra: torch nets, data set loaders, flat parameter buffers, learner sampling.

The public names below load lazily, so `from models import ModelSpec` (or the
torch-free sizes, specs and sampling) never imports torch; only the nets,
loaders, flat buffers and evaluate do.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ModelSpec": "models.spec", "DataSpec": "models.spec",
    "DatasetError": "models.errors",
    "spec_parameter_count": "models.size", "spec_parameter_bytes": "models.size", "data_shape": "models.size",
    "LearnerStream": "models.sampling",
    "build_model": "models.build",
    "flatten_parameters": "models.flat", "flat_grad": "models.flat",
    "parameter_count": "models.flat", "parameter_bytes": "models.flat",
    "Dataset": "models.dataset", "load_dataset": "models.dataset",
    "evaluate": "models.metrics",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__():
    return __all__
