"""`rudra compare`: the table (terminal and markdown) has every cell filled, the error and spread mean
what the header says, the staleness distributions are compared by TV distance, and the figure
overlays sim and real with labelled axes."""
import contextlib
import io
import json

import pandas as pd
import pytest

from rudra.analysis.compare import (HEADER, PULLS, QUANTITIES, Row, compare, cpu_quantity, figure, gap_quantity,
                                    phase_quantity, push_path_quantity, staleness_distribution, tv_distance)
from rudra.analysis.cpu import PARTS
from rudra.analysis.phases import CYCLE, GAP_QUANTILES, PHASES, gap_quantiles, steady_gradients
from rudra.cli import main
from rudra.protocol.trace import PUSH_PATH
from rudra.runtime.versions import cpu_ticks
from tests.analysis.conftest import EXAMPLE, relabel_real, simulate
from tests.analysis.test_timeline import check_format


def test_table_has_every_cell_filled(runs, tmp_path, capsys):
    assert main(["compare", str(runs["sim"]), *map(str, runs["real"]), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name, _, _ in QUANTITIES:
        assert name in out
    assert "total variation distance" in out
    md = (tmp_path / "compare.md").read_text().splitlines()
    table = [line for line in md if line.startswith("| ")]
    # full traces: phases, cycle, the gaps' quantiles, pulls per gradient, the push path's parts; CPU
    assert len(table) == (1 + len(QUANTITIES) + len(PHASES) + 1 + len(GAP_QUANTILES) + 1 + len(PUSH_PATH)
                          + len(PARTS))
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(HEADER) and all(cells)
    assert (tmp_path / "compare.png").stat().st_size > 0 and (tmp_path / "compare.svg").stat().st_size > 0


def test_measured_mean_spread_and_error(runs):
    c = compare(runs["sim"], runs["real"])
    row = c.rows[1]  # gradients/s
    measured = [json.loads((d / "run.json").read_text())["summary"]["gradients_per_second"] for d in runs["real"]]
    assert row.measured == pytest.approx(measured)
    assert row.mean == pytest.approx(sum(measured) / 3)
    assert row.error == pytest.approx((row.predicted - row.mean) / row.mean)
    assert row.cells()[4] == f"{min(measured):.4g}–{max(measured):.4g}"


def test_row_semantics():
    inside = Row("time per epoch", "s", 1.15, (1.0, 1.2))
    assert inside.error == pytest.approx(0.05 / 1.1) and inside.inside and inside.std == pytest.approx(0.1414, abs=1e-4)
    assert not Row("x", "s", 1.3, (1.0, 1.2)).inside
    assert Row("σ", "versions", 0.0, (0.0, 0.0)).error == 0.0  # hardsync: both 0
    assert Row("σ", "versions", 0.5, (0.0,)).cells()[6] == "n/a (measured 0)"
    assert Row("x", "s", 2.0, (2.0,)).cells()[5:] == ["0", "+0.0%", "yes"]  # one real run: no spread


def test_tv_distance():
    p = pd.Series({0: 0.5, 1: 0.5})
    assert tv_distance(p, pd.Series({1: 1.0})) == pytest.approx(0.5)
    assert tv_distance(p, p) == 0.0
    assert tv_distance(pd.Series({0: 1.0}), pd.Series({3: 1.0})) == pytest.approx(1.0)


def test_a_run_against_itself_is_exact(runs, tmp_path):
    same = relabel_real(runs["sim"], tmp_path / "same")
    c = compare(runs["sim"], [same])
    assert c.tv == 0.0 and c.tv_between_real == 0.0
    assert all(r.error == 0.0 and r.inside for r in c.rows)


def test_figure_overlays_sim_and_real(runs):
    fig = figure(compare(runs["sim"], runs["real"]))
    assert len(fig.axes) == 4  # full traces: the phases panel too
    for ax in fig.axes[:3]:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(l.startswith("simulated") for l in labels) and any(l.startswith("real (3 runs") for l in labels)
    assert "(s)" in fig.axes[1].get_xlabel() and "(1/s)" in fig.axes[2].get_ylabel()
    top = max(max(line.get_ydata()) for line in fig.axes[2].get_lines())
    assert fig.axes[2].get_ylim()[0] == 0 and fig.axes[2].get_ylim()[1] > 1.05 * top  # no marker on the edge


def test_the_phases_panel_stacks_each_sides_phases_and_marks_its_cycle(runs):
    c = compare(runs["sim"], runs["real"])
    ax = figure(c).axes[3]
    assert "(ms)" in ax.get_xlabel() and ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["simulated", "real (3 runs): mean"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["learner cycle (push to push)", *PHASES]
    row = {r.quantity: r for r in c.rows}
    bars = [(p.get_x(), p.get_width()) for p in ax.patches]  # simulated's three segments, then real's
    assert [w for _, w in bars] == pytest.approx([row[phase_quantity(n)].predicted for n in PHASES]
                                                 + [row[phase_quantity(n)].mean for n in PHASES])
    assert bars[1][0] == pytest.approx(bars[0][1]) and bars[2][0] == pytest.approx(bars[0][1] + bars[1][1])
    assert ax.get_lines()[1].get_xdata()[0] == pytest.approx(row[phase_quantity(CYCLE)].mean)


def test_further_simulated_runs_make_the_prediction_their_mean(runs, tmp_path, capsys):
    """--also: each quantity is predicted by the simulated runs' mean, shown with their min–max; the staleness
    distributions pool them; the figure says how many there are."""
    seeds = [runs["sim"], *(simulate(tmp_path / f"seed{k}", "protocol.learners=3", "cluster.jitter_dist=lognormal",
                                     "cluster.jitter_cv=0.3", f"experiment.seed={k}") for k in (5, 6))]
    c = compare(seeds[0], runs["real"], also=seeds[1:])
    epoch = c.rows[0]
    each = [json.loads((d / "run.json").read_text())["summary"]["seconds_per_epoch"] for d in seeds]
    assert len(set(each)) == 3 and epoch.predictions == pytest.approx(each)
    assert epoch.predicted == pytest.approx(sum(each) / 3)
    assert epoch.error == pytest.approx((sum(each) / 3 - epoch.mean) / epoch.mean)
    assert epoch.cells()[2] == f"{sum(each) / 3:.4g} ({min(each):.4g}–{max(each):.4g})"
    assert c.sigma_sim.equals(staleness_distribution(*seeds))
    assert compare(seeds[0], runs["real"]).rows[0].cells()[2] == f"{each[0]:.4g}"  # one simulated run: no brackets
    labels = [t.get_text() for t in figure(c).axes[1].get_legend().get_texts()]
    assert "simulated (3 runs)" in labels
    assert main(["compare", str(seeds[0]), *map(str, runs["real"]), "--also", str(seeds[1]), "--also", str(seeds[2]),
                 "--out", str(tmp_path / "cmp")]) == 0
    assert f"({min(each):.4g}–{max(each):.4g})" in capsys.readouterr().out
    assert "predicted: 3 run(s)" in (tmp_path / "cmp" / "compare.md").read_text()


def test_runs_of_another_config_are_refused(runs, tmp_path, capsys):
    other = relabel_real(simulate(tmp_path / "other", "protocol.learners=2"), tmp_path / "real")
    assert main(["compare", str(runs["sim"]), str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "learners = 2" in err and "one config" in err


def test_a_prediction_must_be_simulated_and_a_measurement_real(runs, capsys):
    """Arguments in the wrong order are one line naming the run, not a table of a real run 'predicting' a
    simulated one."""
    assert main(["compare", str(runs["real"][0]), str(runs["sim"])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(runs["real"][0]) in err and "wants a simulated one" in err
    assert main(["compare", str(runs["sim"]), str(runs["real"][0]), "--also", str(runs["real"][1])]) == 2
    assert "wants a simulated one" in capsys.readouterr().err
    assert main(["compare", str(runs["sim"]), str(runs["sim"])]) == 2
    assert "wants a real one" in capsys.readouterr().err


@pytest.mark.slow
def test_prediction_against_a_real_training_run(tmp_path):
    """End to end on this machine: simulate and train the same small config, compare, export both timelines."""
    settings = ["--set", "protocol.learners=2", "--set", "train.epochs=1"]
    example = str(EXAMPLE)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["simulate", example, *settings, "--out", str(tmp_path / "sim")]) == 0
        assert main(["train", example, *settings, "--out", str(tmp_path / "real")]) == 0
    c = compare(tmp_path / "sim", [tmp_path / "real"])
    assert all(all(cells) for cells in c.table()) and 0.0 <= c.tv <= 1.0
    if cpu_ticks() is not None:  # the real run counted the CPU time a hypervisor took meanwhile
        assert 0.0 <= c.stolen[0] <= 1.0 and c.stolen_lines()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["timeline", str(tmp_path / "sim"), str(tmp_path / "real"), "--out", str(tmp_path / "t.json")]) == 0
    events = check_format(json.loads((tmp_path / "t.json").read_text()))
    real = pd.read_csv(tmp_path / "real" / "gradients.csv")
    assert sum(e["name"] == "compute" and e["pid"] > 3 for e in events) == len(real)  # pids 1-3: the sim run


def test_summary_only_runs_compare_too(runs, tmp_path):
    """trace = "summary" keeps the histograms and the summary: the table is complete without gradient rows."""
    sim = simulate(tmp_path / "sim", "protocol.learners=3", "sim.trace=summary")
    c = compare(sim, runs["real"])
    assert all(all(cells) for cells in c.table())
    assert len(c.rows) == len(QUANTITIES) + len(PARTS)  # no gradient rows: no phases, and no phases panel
    fig = figure(c)
    assert len(fig.axes) == 3 and fig.axes[1].get_lines()


def test_gap_rows_are_each_runs_quantiles_of_its_learners_gaps(runs):
    """The gap rows hold the sim's quantiles and each real run's, in ms (analysis/phases.py gap_quantiles)."""
    rows = {r.quantity: r for r in compare(runs["sim"], runs["real"]).rows}
    for name in GAP_QUANTILES:
        row = rows[gap_quantity(name)]
        assert row.predicted == pytest.approx(1e3 * gap_quantiles(steady_gradients(runs["sim"]))[name])
        assert row.measured == pytest.approx([1e3 * gap_quantiles(steady_gradients(d))[name] for d in runs["real"]])


def test_push_path_rows_hold_each_runs_parts_of_push_to_applied(runs, tmp_path):
    """The push path rows are each run's received, queued and served, in ms, and add up to its phase push →
    applied over all its gradients; a run without them (a simulation with a summary trace) leaves them out."""
    rows = {r.quantity: r for r in compare(runs["sim"], runs["real"]).rows}
    sim = json.loads((runs["sim"] / "run.json").read_text())["sim"]["push_path"]
    for part in PUSH_PATH:
        assert rows[push_path_quantity(part)].predicted == pytest.approx(1e3 * sim[part])
    for k, d in enumerate(runs["real"]):
        g = pd.read_csv(d / "gradients.csv")
        assert sum(rows[push_path_quantity(part)].measured[k] for part in PUSH_PATH) == pytest.approx(
            1e3 * (g.t_applied - g.t_push).mean())
    small = simulate(tmp_path / "small", "protocol.learners=3", "sim.trace=summary")
    assert not any(r.quantity.startswith("push → applied:") for r in compare(small, runs["real"]).rows)


def test_pulls_per_gradient_count_each_learners_pulls(runs, tmp_path):
    """Under base every gradient pulls its weights: 1 on both sides. Under adv* a learner computes on until fresh
    weights come: fewer pulls than gradients, each a distinct t_pull of its learner."""
    rows = {r.quantity: r for r in compare(runs["sim"], runs["real"]).rows}
    assert rows[PULLS].predicted == 1.0 and rows[PULLS].measured == (1.0, 1.0, 1.0)
    sim = simulate(tmp_path / "star", "protocol.learners=3", "protocol.architecture=adv*", "protocol.shards=2",
                   "cluster.latency=0.002")
    pulls = {r.quantity: r for r in compare(sim, [relabel_real(sim, tmp_path / "real")]).rows}[PULLS].predicted
    g = steady_gradients(sim)
    assert 0 < pulls < 1 and pulls == pytest.approx(
        sum(len(set(x.t_pull)) for _, x in g.groupby("learner")) / len(g))


def test_cpu_rows_hold_what_each_side_charged_per_gradient(runs, tmp_path):
    """The CPU rows are each run's cpu_seconds over its gradients, in ms; a run that counted no CPU (one written
    before it was recorded) leaves them out rather than failing the table."""
    c = compare(runs["sim"], runs["real"])
    rows = {r.quantity: r for r in c.rows}
    info = json.loads((runs["sim"] / "run.json").read_text())
    cpu, gradients = info["sim"]["cpu_seconds"], info["gradients"]
    assert rows[cpu_quantity("learner compute")].predicted == pytest.approx(
        1e3 * sum(cpu["learners_compute"]) / gradients)
    assert rows[cpu_quantity("server, shard 0")].predicted == pytest.approx(1e3 * cpu["server"][0] / gradients)
    older = relabel_real(runs["real"][0], tmp_path / "older")
    info = json.loads((older / "run.json").read_text())
    del info["sim"]["cpu_seconds"]
    (older / "run.json").write_text(json.dumps(info))
    assert not any(r.quantity.startswith("CPU") for r in compare(runs["sim"], [older]).rows)


def test_each_real_runs_stolen_cpu_is_said_where_it_was_counted(runs, tmp_path):
    """A real run's runtime.stolen shows beside the table, in the terminal and in markdown; a run that did not
    count it says so; with none counted there is no line at all."""
    counted = relabel_real(runs["sim"], tmp_path / "counted")
    info = json.loads((counted / "run.json").read_text())
    info["runtime"] = {"stolen": 0.012}
    (counted / "run.json").write_text(json.dumps(info))
    c = compare(runs["sim"], [counted, runs["real"][0]])
    assert c.stolen == (0.012, None)
    line = "CPU time a hypervisor took from this machine during each real run: 1.2%, not counted"
    assert line in c.text() and line in c.markdown()
    assert not compare(runs["sim"], runs["real"]).stolen_lines()
