"""`rudra demo` (what `make demo` runs) predicts, trains and leaves readable traces."""
import pytest

from rudra.analysis import read_trace
from rudra.cli import main
from rudra.demo import PREDICT, TRAIN, slug


@pytest.mark.slow
def test_demo_predicts_trains_and_leaves_traces(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for label, _ in PREDICT + TRAIN:
        assert label in out
    for part, rows in (("predict", PREDICT), ("train", TRAIN)):
        for label, _ in rows:
            t = read_trace(tmp_path / part / slug(label))
            assert t.staleness["count"].sum() > 0
    hardsync = read_trace(tmp_path / "predict" / "hardsync").run["summary"]
    async_ = read_trace(tmp_path / "predict" / "30-softsync").run["summary"]
    assert hardsync["staleness"]["max"] == 0 and async_["staleness"]["mean"] > 20
    assert read_trace(tmp_path / "train" / "async-per-gradient").run["summary"]["test_error"] < 0.2
