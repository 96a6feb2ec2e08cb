"""Each loader on files written here in the real formats, and on broken ones: one DatasetError, one line."""
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from rudra.models import DatasetError, DataSpec, data_shape, load_dataset
from rudra.models.size import train_samples


def _one_line_error(spec, *fragments):
    with pytest.raises(DatasetError) as e:
        load_dataset(spec, seed=0)
    message = str(e.value)
    assert "\n" not in message and all(f in message for f in fragments), message
    return message


def _check(ds, spec):
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert ds.test_x.dtype == torch.float32 and ds.test_y.dtype == torch.int64
    assert len(ds.train_x) == len(ds.train_y) and len(ds.test_x) == len(ds.test_y)
    assert ds.test_x.shape[1:] == ds.train_x.shape[1:]
    assert (ds.input_shape, ds.classes) == data_shape(spec)
    assert 0 <= int(ds.train_y.min()) and int(ds.train_y.max()) < ds.classes


def _same(a, b):
    return all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("train_x", "train_y", "test_x", "test_y"))


# digits and synthetic ------------------------------------------------------------------------------

def test_digits_split_is_seeded_and_stratified():
    spec = DataSpec(name="digits")
    ds = load_dataset(spec, seed=1)
    _check(ds, spec)
    assert len(ds.train_y) + len(ds.test_y) == 1797 and ds.input_shape == (64,)
    assert abs(len(ds.test_y) / 1797 - 0.25) < 0.01 and ds.test_y.bincount().min() >= 40
    assert 0 <= float(ds.train_x.min()) and float(ds.train_x.max()) <= 1
    assert _same(ds, load_dataset(spec, seed=1)) and not _same(ds, load_dataset(spec, seed=2))
    image = DataSpec(name="digits", shape="image")
    _check(load_dataset(image, seed=1), image)
    assert torch.equal(load_dataset(image, seed=1).train_x.flatten(1), ds.train_x)


@pytest.mark.parametrize("spec", [
    DataSpec(name="synthetic", samples=200, test_samples=50, image_size=16),
    DataSpec(name="synthetic", shape="flat", samples=300, test_samples=60, features=20, classes=3),
])
def test_synthetic_is_seeded_and_sized(spec):
    ds = load_dataset(spec, seed=5)
    _check(ds, spec)
    assert (len(ds.train_y), len(ds.test_y)) == (spec.samples, spec.test_samples)
    assert ds.train_y.bincount(minlength=spec.classes).min() > 0
    assert _same(ds, load_dataset(spec, seed=5)) and not _same(ds, load_dataset(spec, seed=6))


def test_train_limit_keeps_the_first_k_training_samples():
    full = load_dataset(DataSpec(name="digits"), seed=0)
    few = load_dataset(DataSpec(name="digits", train_limit=100), seed=0)
    assert torch.equal(few.train_x, full.train_x[:100]) and torch.equal(few.test_y, full.test_y)
    assert few.train_y.unique().numel() == 10  # the readers shuffle, so the first K mix the classes


# cifar10 --------------------------------------------------------------------------------------------

def _write_batch(path, n, rng, override=None):
    batch = {b"batch_label": b"fake", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": [int(v) for v in rng.integers(0, 10, n)], b"filenames": [b"x.png"] * n}
    batch.update(override or {})
    path.write_bytes(pickle.dumps(batch, protocol=2))


@pytest.fixture
def cifar_root(tmp_path):
    """A parent folder holding a tiny cifar-10-batches-py: 20 images per batch, in the true pickle format."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_batch(folder / name, 20, rng)
    return tmp_path


def test_cifar10_reads_the_batches_and_standardises_per_channel(cifar_root):
    spec = DataSpec(name="cifar10", path=str(cifar_root))
    ds = load_dataset(spec, seed=0)
    _check(ds, spec)
    assert ds.train_x.shape == (100, 3, 32, 32) and ds.test_x.shape == (20, 3, 32, 32) and ds.classes == 10
    mean, std = ds.train_x.mean(dim=(0, 2, 3)), ds.train_x.std(dim=(0, 2, 3))
    assert torch.allclose(mean, torch.zeros(3), atol=1e-4) and torch.allclose(std, torch.ones(3), atol=1e-2)
    raw = pickle.loads((cifar_root / "cifar-10-batches-py" / "data_batch_1").read_bytes(), encoding="bytes")
    assert ds.train_y[:20].tolist() == raw[b"labels"]
    red = raw[b"data"][:, :1024].astype(np.float64)  # the first 1024 bytes are the red plane
    assert np.corrcoef(red.ravel(), ds.train_x[:20, 0].numpy().ravel())[0, 1] > 0.999


def test_cifar10_accepts_the_folder_itself_or_rudra_data(cifar_root, monkeypatch):
    direct = load_dataset(DataSpec(name="cifar10", path=str(cifar_root / "cifar-10-batches-py")), seed=0)
    monkeypatch.setenv("RUDRA_DATA", str(cifar_root))
    assert _same(direct, load_dataset(DataSpec(name="cifar10"), seed=0))


def test_cifar10_without_a_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("RUDRA_DATA", raising=False)
    _one_line_error(DataSpec(name="cifar10"), "RUDRA_DATA", "[data] path")
    _one_line_error(DataSpec(name="cifar10", path=str(tmp_path / "nowhere")), "nowhere", "does not exist")
    _one_line_error(DataSpec(name="cifar10", path=str(tmp_path)), "cifar-10-batches-py", "data_batch_1")


def test_cifar10_missing_batch_file(cifar_root):
    (cifar_root / "cifar-10-batches-py" / "data_batch_3").unlink()
    _one_line_error(DataSpec(name="cifar10", path=str(cifar_root)), "missing batch file", "data_batch_3")


def test_cifar10_truncated_batch_file(cifar_root):
    path = cifar_root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:5000])
    _one_line_error(DataSpec(name="cifar10", path=str(cifar_root)), "cannot unpickle", "test_batch", "truncated")


@pytest.mark.parametrize("override, fragment", [
    ({b"data": np.zeros((20, 1024), dtype=np.uint8)}, "(20, 1024)"),
    ({b"data": np.zeros((20, 3072), dtype=np.float32)}, "float32"),
    ({b"labels": [0] * 19}, "19 labels"),
    ({b"labels": [10] * 20}, "outside 0..9"),
])
def test_cifar10_wrong_arrays(cifar_root, override, fragment):
    _write_batch(cifar_root / "cifar-10-batches-py" / "data_batch_2", 20, np.random.default_rng(1), override)
    _one_line_error(DataSpec(name="cifar10", path=str(cifar_root)), "data_batch_2", fragment, "3072")


def test_cifar10_not_a_batch_dict(cifar_root):
    (cifar_root / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps([1, 2, 3]))
    _one_line_error(DataSpec(name="cifar10", path=str(cifar_root)), "data_batch_1", "b'labels'")


# image_folder -----------------------------------------------------------------------------------------

@pytest.fixture
def image_root(tmp_path):
    """root/<class>/<n>.png|jpg: three classes of 6 small images of different sizes, colours by class."""
    root = tmp_path / "images"
    for k, name in enumerate(["cat", "dog", "eel"]):
        (root / name).mkdir(parents=True)
        for i in range(6):
            colour = tuple(int(v) for v in np.roll([200, 40, 40], k) + 5 * i)
            Image.new("RGB", (10 + i, 12), colour).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    (root / "cat" / "notes.txt").write_text("not an image, ignored")
    return root


def test_image_folder_reads_resizes_and_splits(image_root):
    spec = DataSpec(name="image_folder", path=str(image_root), image_size=8, test_fraction=1 / 3)
    ds = load_dataset(spec, seed=0)
    _check(ds, spec)
    assert ds.input_shape == (3, 8, 8) and ds.classes == 3
    assert len(ds.train_y) == 12 and ds.test_y.bincount().tolist() == [2, 2, 2]
    dominant = ds.train_x.mean(dim=(2, 3)).argmax(dim=1)  # class k is the k-th sorted folder: red, green, blue
    assert torch.equal(dominant, ds.train_y)
    assert _same(ds, load_dataset(spec, seed=0)) and not _same(ds, load_dataset(spec, seed=1))


def test_image_folder_empty_root(tmp_path):
    _one_line_error(DataSpec(name="image_folder", path=str(tmp_path)), "no class subfolders", str(tmp_path))


def test_image_folder_class_without_images(image_root):
    (image_root / "fox").mkdir()
    _one_line_error(DataSpec(name="image_folder", path=str(image_root)), "fox", "holds no images")


def test_image_folder_unreadable_image(image_root):
    (image_root / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    _one_line_error(DataSpec(name="image_folder", path=str(image_root)), "cannot read image", "broken.png")


@pytest.mark.parametrize("spec", [DataSpec(name="digits"), DataSpec(name="digits", test_fraction=0.5),
                                  DataSpec(name="digits", train_limit=100), DataSpec(name="synthetic", samples=300)],
                         ids=["digits", "digits-half", "digits-limit", "synthetic"])
def test_train_samples_without_loading_matches_the_loader(spec):
    """The simulator's epoch length (N/μ) comes from train_samples; it must agree with what learners see."""
    assert train_samples(spec) == len(load_dataset(spec, seed=0).train_y)


def test_train_samples_of_an_image_folder_and_cifar10(image_root):
    spec = DataSpec(name="image_folder", path=str(image_root), image_size=8, test_fraction=1 / 3)
    assert train_samples(spec) == len(load_dataset(spec, seed=0).train_y) == 12
    assert train_samples(DataSpec(name="cifar10", train_limit=1000)) == 1000
