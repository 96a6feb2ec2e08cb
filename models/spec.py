"""Model and data settings: the `[model]` and `[data]` sections.

Plain frozen dataclasses, following protocol/spec.py: constraints live in each
field's metadata (doc, choices, min/max, gt, each) so rudra/config.py validates
them generically; cross-field rules live in `invalid()`. Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MODELS = ("mlp", "small_cnn", "cifar10_full", "alexnet_style")
DATASETS = ("digits", "synthetic", "cifar10", "image_folder")
SHAPES = ("flat", "image")
SAMPLING = ("whole", "shard")
ALEXNET_MIN_SIDE = 63  # its first conv (11/4) and three 3/2 poolings need this many pixels a side


@dataclass(frozen=True)
class ModelSpec:
    """Which network to train and its size knobs (models/build.py builds it)."""

    name: str = field(default="mlp", metadata={"choices": MODELS, "doc": "network architecture"})
    hidden: tuple[int, ...] = field(
        default=(64,), metadata={"each": {"min": 1}, "doc": "mlp hidden layer sizes; () is logistic regression"})
    width: float = field(
        default=1.0, metadata={"gt": 0.0, "max": 4.0, "doc": "channel and fc-size multiplier (small_cnn, alexnet_style)"})
    lrn: bool = field(default=True, metadata={"doc": "cifar10_full: local response norm after pool1 and pool2"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        if self.width != 1.0 and self.name not in ("small_cnn", "alexnet_style"):
            return "width", self.width, f"1.0 for {self.name} (only small_cnn and alexnet_style scale)"
        if self.hidden != (64,) and self.name != "mlp":
            return "hidden", list(self.hidden), f"left out for {self.name} (only mlp has hidden layers)"
        if not self.lrn and self.name != "cifar10_full":
            return "lrn", self.lrn, f"left out for {self.name} (only cifar10_full has LRN)"
        return None

    def invalid_with(self, data: DataSpec) -> tuple[str, object, str] | None:
        """The first violation of a rule that needs `[data]` too, as (field, value, allowed), or None."""
        if self.name != "mlp" and not data.image:
            return "name", self.name, f"'mlp' for flat inputs (data.shape {data.shape!r}); conv nets need images"
        side = {"digits": 8, "cifar10": 32}.get(data.name, data.image_size)
        if self.name == "alexnet_style" and side < ALEXNET_MIN_SIDE:
            return "name", self.name, (f"a smaller net for {data.name}'s {side}×{side} images (alexnet_style needs "
                                       f">= {ALEXNET_MIN_SIDE} px: data.image_size for synthetic and image_folder)")
        return None


@dataclass(frozen=True)
class DataSpec:
    """Which data set to load, how to split it and how learners sample it (models/dataset.py)."""

    name: str = field(default="digits", metadata={"choices": DATASETS, "doc": "data set"})
    path: str | None = field(
        default=None, metadata={"doc": "cifar10 / image_folder root; when left out, the RUDRA_DATA environment variable"})
    shape: str | None = field(
        default=None,
        metadata={"choices": SHAPES, "doc": "flat vectors or C×H×W images; left out: digits flat, the others images"})
    samples: int = field(default=5000, metadata={"min": 1, "doc": "synthetic: training samples"})
    test_samples: int = field(default=1000, metadata={"min": 1, "doc": "synthetic: test samples"})
    features: int = field(default=64, metadata={"min": 2, "doc": "synthetic flat: input features"})
    classes: int = field(default=10, metadata={"min": 2, "max": 1000, "doc": "synthetic: number of classes"})
    noise: float = field(default=1.0, metadata={"min": 0.0, "doc": "synthetic: noise level (0 = clean, higher = harder)"})
    image_size: int = field(
        default=32, metadata={"min": 8, "max": 512, "doc": "side in pixels: synthetic images, image_folder resize"})
    test_fraction: float = field(
        default=0.25, metadata={"gt": 0.0, "max": 0.9, "doc": "digits / image_folder: share held out for test"})
    train_limit: int | None = field(
        default=None, metadata={"min": 1, "doc": "use only the first K training samples (quick runs)"})
    sampling: str = field(
        default="whole",
        metadata={"choices": SAMPLING, "doc": "whole: each learner samples all data in its own order; shard: disjoint"})

    def invalid(self) -> tuple[str, object, str] | None:
        """The first cross-field violation as (field, value, allowed), or None."""
        if self.path is not None and self.name not in ("cifar10", "image_folder"):
            return "path", self.path, f"left out for {self.name} (only cifar10 and image_folder read files)"
        if self.shape == "flat" and self.name not in ("digits", "synthetic"):
            return "shape", self.shape, f"'image' or left out for {self.name} (it is always images)"
        return None

    @property
    def image(self) -> bool:
        """True when samples are C×H×W images, False when flat vectors."""
        return self.shape == "image" or (self.shape is None and self.name != "digits")
