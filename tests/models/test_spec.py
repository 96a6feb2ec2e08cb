"""[model] and [data] specs: every field documented, defaults allowed by their own metadata, cross-field rules."""
import json
import subprocess
import sys
from dataclasses import fields

import pytest

from rudra.models import DataSpec, ModelSpec


def _allowed(value, meta):
    if value is None:
        return True
    if isinstance(value, tuple):
        return all(_allowed(v, meta.get("each", {})) for v in value)
    return (("choices" not in meta or value in meta["choices"])
            and ("min" not in meta or value >= meta["min"])
            and ("max" not in meta or value <= meta["max"])
            and ("gt" not in meta or value > meta["gt"]))


@pytest.mark.parametrize("spec", [ModelSpec, DataSpec])
def test_every_field_is_documented_and_its_default_allowed(spec):
    for f in fields(spec):
        assert f.metadata["doc"] and "\n" not in f.metadata["doc"], f.name
        assert _allowed(f.default, f.metadata), f.name
    assert spec().invalid() is None


@pytest.mark.parametrize("spec, bad_field", [
    (ModelSpec(name="mlp", width=0.5), "width"),
    (ModelSpec(name="cifar10_full", hidden=(32,)), "hidden"),
    (ModelSpec(name="small_cnn", lrn=False), "lrn"),
    (DataSpec(name="digits", path="/data"), "path"),
    (DataSpec(name="cifar10", shape="flat"), "shape"),
])
def test_invalid_names_the_first_bad_field(spec, bad_field):
    name, _, allowed = spec.invalid()
    assert name == bad_field and allowed


@pytest.mark.parametrize("spec", [
    ModelSpec(name="alexnet_style", width=0.125), ModelSpec(name="mlp", hidden=()), ModelSpec(name="cifar10_full", lrn=False),
    DataSpec(name="cifar10", path="/data", shape="image"), DataSpec(name="synthetic", shape="flat"),
])
def test_valid_combinations_pass(spec):
    assert spec.invalid() is None


def test_image_shape_follows_the_data_set():
    assert not DataSpec(name="digits").image and DataSpec(name="digits", shape="image").image
    assert DataSpec(name="synthetic").image and not DataSpec(name="synthetic", shape="flat").image
    assert DataSpec(name="cifar10").image and DataSpec(name="image_folder").image


def test_specs_sizes_and_sampling_import_without_torch():
    """The simulator reads specs, message sizes and streams; it must not pay for (or need) torch."""
    code = ("import sys, json;"
            "from rudra.models import ModelSpec, DataSpec, spec_parameter_bytes, data_shape, LearnerStream;"
            "shape, classes = data_shape(DataSpec(name='cifar10'));"
            "print(json.dumps([spec_parameter_bytes(ModelSpec(name='cifar10_full'), shape, classes),"
            " 'torch' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [4 * 89578, False]
