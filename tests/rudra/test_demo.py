"""`rudra demo` (what `make demo` runs) closes the loop on one experiment: this machine calibrated, each
configuration predicted on that profile, trained for real and compared, a simulated grid on the same
profile, and the decision figures, all where it says they are."""
import csv

import pytest

from rudra.analysis import read_trace
from rudra.demo import CONFIGS, FIGURES, demo


@pytest.mark.slow
def test_demo_calibrates_predicts_trains_compares_and_sweeps(tmp_path, capsys):
    # 2 epochs instead of the experiment's 10: the same steps, each real run a few seconds shorter
    assert demo(tmp_path, progress=False, epochs=2) == 0
    out = capsys.readouterr().out
    profile = tmp_path / "profile.toml"
    assert "[cluster]" in profile.read_text()
    for name, label, _ in CONFIGS:
        assert label in out
        predicted, measured = (read_trace(tmp_path / part / name).run for part in ("predict", "train"))
        assert (predicted["kind"], measured["kind"]) == ("sim", "real")
        assert predicted["config"] == measured["config"]  # one experiment, predicted and measured
        assert predicted["config"]["cluster"]["profile"] == str(profile)
        assert measured["summary"]["test_error"] is not None
        rows = [line.strip("|").split("|") for line in
                (tmp_path / "compare" / name / "compare.md").read_text().splitlines() if line.startswith("|")]
        assert len(rows) > 2 and all(c.strip() and "nan" not in c for r in rows for c in r)  # every cell filled
        assert (tmp_path / "compare" / name / "compare.png").stat().st_size > 0
    sigma = {name: read_trace(tmp_path / "train" / name).run["summary"]["staleness"] for name, _, _ in CONFIGS}
    assert sigma["hardsync"]["max"] == 0 and sigma["async"]["mean"] > 0
    with (tmp_path / "sweep" / "index.csv").open() as f:
        points = list(csv.DictReader(f))
    assert len(points) == 12 and {p["status"] for p in points} == {"ok"}
    for p in points:  # on the same profile, with a test error from numerics mode for the tradeoff
        assert read_trace(tmp_path / "sweep" / p["run_dir"]).run["config"]["cluster"]["profile"] == str(profile)
        assert p["test_error"]
    for kind in FIGURES:
        assert (tmp_path / "figures" / f"{kind}.png").stat().st_size > 0
        assert f"figures/{kind}.png" in out
