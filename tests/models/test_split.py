"""What the data and the net allow, known before loading or allocating: split sizes, an empty test set, inputs
too small for a net."""
import pytest

from rudra.models import DataSpec, DatasetError, ModelSpec, load_dataset
from rudra.models.build import input_problem
from rudra.models.size import split_sizes


@pytest.mark.parametrize("spec", [DataSpec(), DataSpec(test_fraction=0.5, train_limit=100),
                                  DataSpec(name="synthetic", samples=300, test_samples=70)])
def test_split_sizes_count_what_the_loader_loads(spec):
    data, split = load_dataset(spec, seed=0), split_sizes(spec)
    assert (split.train, split.test) == (len(data.train_y), len(data.test_y))


def test_an_image_folder_too_small_for_a_test_set_is_one_line_naming_it(tmp_path):
    from PIL import Image
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / label / "1.png")
    spec = DataSpec(name="image_folder", path=str(tmp_path), image_size=8)
    assert split_sizes(spec).test == 0
    with pytest.raises(DatasetError, match=f"{tmp_path}: no image is left for the test set") as e:
        load_dataset(spec, seed=0)
    assert "at least 3 images" in str(e.value)  # 0.25 of 3 rounds to one held out; of 2 it rounds to none


def test_a_net_that_cannot_take_the_inputs_is_found_without_allocating_it():
    assert "too small" in input_problem(ModelSpec(name="alexnet_style"), (3, 8, 8), 10)
    assert input_problem(ModelSpec(name="alexnet_style"), (3, 64, 64), 10) is None
    assert input_problem(ModelSpec(hidden=(10**9,)), (64,), 10) is None  # 64 G parameters: shapes only
