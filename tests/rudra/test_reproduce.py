"""`rudra reproduce --quick`: every study runs, the table and figures are written, staleness follows n."""
from __future__ import annotations

import pandas as pd
import pytest
import tomli_w

from rudra.cli import main
from rudra.reproduce import SIZES, groups
from rudra.sweep import grid


@pytest.mark.parametrize("size", sorted(SIZES))
def test_every_point_of_every_study_is_a_valid_experiment(tmp_path, size):
    for g in groups(SIZES[size], cifar10="/nowhere"):
        base = tmp_path / f"{g.study}-{g.name}.toml"
        base.write_text(tomli_w.dumps(g.doc))
        points = grid(base, [], g.items or [("vary", "experiment.seed=0")])
        assert [p.reason for p in points if p.exp is None] == [], g.folder


@pytest.mark.slow
def test_quick_reproduction_writes_the_table_and_figures_and_sigma_follows_n(tmp_path, capsys):
    out = tmp_path / "repro"
    assert main(["reproduce", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 staleness" in printed and "results.md" in printed
    table = pd.read_csv(out / "results.csv")
    assert (table.status == "ok").all(), table[table.status != "ok"].run_dir.tolist()
    assert set(table.study) == {"staleness", "lr", "mulambda", "runtime", "arch"}
    assert {"sim", "numerics", "real"} <= set(table["mode"])
    stale = table[(table.study == "staleness") & (table["mode"] == "sim")]
    n = stale.protocol.str.split("-").str[0].astype(int)
    assert len(stale) == 3 and ((stale.staleness_mean - n).abs() <= 0.25 * n + 0.5).all()
    assert (stale.p_sigma_over_2n < 1e-3).all()
    numerics = table[table["mode"] == "numerics"]
    assert numerics.test_error.between(0, 1).all()  # numerics mode evaluated every accuracy point
    md = (out / "results.md").read_text()
    assert md.count("| yes |") + md.count("| no |") + md.count("| in part |") == 5
    for name in ("staleness-sim", "lr-digits-mlp-numerics", "runtime-sim", "mulambda"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000, name
