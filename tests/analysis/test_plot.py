"""`rudra plot`: every kind renders from small runs, with titles, labelled axes and a legend for every
line; simulated and real runs are told apart; a sweep folder reads like its run directories; the same
input gives the same bytes."""
import shutil
import xml.etree.ElementTree as ET
from itertools import combinations

from pathlib import Path

import matplotlib as mpl
import pytest
from PIL import Image

from rudra.analysis import figures, labels
from rudra.analysis.plot import KINDS, draw, pareto, plot
from rudra.analysis.runs import Run, collect
from rudra.cli import main
from tests.analysis.conftest import add_metrics, relabel_real, simulate

ERRORS = {"async": [0.9, 0.35, 0.2], "hardsync": [0.9, 0.3, 0.15]}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """Simulated async and hardsync at λ = 1, 2, 4 (with test errors, as a numerics run writes them), and
    one 'real' run of each at λ = 4."""
    base = tmp_path_factory.mktemp("grid")
    dirs = []
    for protocol in ("async", "hardsync"):
        for lam in (1, 2, 4):
            d = simulate(base / f"{protocol}{lam}", f"protocol.name={protocol}", f"protocol.learners={lam}",
                         "protocol.lr_policy=constant")
            add_metrics(d, [e * (1 + 0.05 * lam) for e in ERRORS[protocol]])
            dirs.append(d)
        dirs.append(relabel_real(base / f"{protocol}4", base / f"real-{protocol}4",
                                 [e * 1.1 for e in ERRORS[protocol]]))
    return dirs


def texts_of(fig):
    """Every visible axes with its legend labels (the axes' own legend, or the figure's)."""
    figure_labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    for ax in fig.axes:
        if ax.get_visible():
            legend = ax.get_legend()
            yield ax, [t.get_text() for t in legend.get_texts()] if legend else figure_labels


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_labelled(grid, tmp_path, kind):
    runs = collect(grid)
    fig = draw(kind, runs)
    for ax, legend in texts_of(fig):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            if "time" in label:
                assert "(s" in label
            if "per second" in label:
                assert "(1/s)" in label
            if "error" in label:
                assert "(%)" in label
        assert legend, f"{kind}: no legend"
        for line in ax.get_lines():  # every labelled line is in the legend
            if not line.get_label().startswith("_"):
                assert line.get_label() in legend
    assert any("simulated" in t for _, legend in texts_of(fig) for t in legend)
    assert any("real" in t for _, legend in texts_of(fig) for t in legend)
    png, svg = figures.save(fig, tmp_path, kind)
    assert (png.name, svg.name) == (f"{kind}.png", f"{kind}.svg")
    with Image.open(png) as im:
        assert im.size[0] > 600 and im.size[1] > 300
    assert ET.parse(svg).getroot().tag.endswith("svg")


def test_same_input_same_bytes(grid, tmp_path):
    a, b = plot(grid, "tradeoff", tmp_path / "a"), plot(grid, "tradeoff", tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def drawn(fig):
    """For the PNG's dpi, the SVG's (72) and the figure's own: each label's white box, each point's
    marker and the axes frame, in pixels, as matplotlib lays them out there."""
    (ax,) = fig.axes
    with mpl.rc_context(figures.STYLE):
        for dpi in (figures.STYLE["savefig.dpi"], 72, figures.STYLE["figure.dpi"]):
            fig.set_dpi(dpi)
            renderer = labels.settle(fig)
            notes = [n.get_bbox_patch().get_window_extent(renderer) for n in ax.texts]
            marks = [line.get_window_extent(renderer) for line in ax.lines if line.get_linestyle() == "None"]
            yield notes, marks, ax.get_window_extent(renderer)


def assert_cover_nothing(fig):
    for notes, marks, frame in drawn(fig):
        assert not [(a, b) for a, b in combinations(notes, 2) if a.overlaps(b)], "labels overlap"
        assert not [(a, m) for a in notes for m in marks if a.overlaps(m)], "a label covers a marker"
        assert all(frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1 for a in notes)


def test_tradeoff_labels_what_varies_and_covers_nothing(grid):
    fig = draw("tradeoff", collect(grid))
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == len(grid)  # no two points of the grid coincide
    assert {"async λ=4", "hardsync λ=1"} <= set(texts)  # μ and lr policy are the same everywhere: said once
    assert fig.legends[0].get_title().get_text() == "all points: μ = 8, lr policy constant"
    assert_cover_nothing(fig)


def fake(protocol: str, learners: int, seconds: float, error: float, kind: str = "sim", policy: str = "constant"):
    """A run as the tradeoff reads it (its summary's time and test error), without a run directory."""
    n = 1 if protocol == "softsync" else learners if protocol == "async" else None
    return Run(dir=Path(f"{protocol}{learners}"), kind=kind, protocol=protocol, learners=learners, minibatch=8, n=n,
               lr_policy=policy, summary={"training_seconds": seconds, "test_error": error})


def test_a_crowded_tradeoff_covers_nothing_and_coincident_points_share_a_label():
    """30 points: at λ ≥ 2 the three protocols of a policy in a cluster of markers that almost touch (labels
    need leader lines), at λ = 1 on one another (one learner runs every protocol alike): the λ = 1 points of
    a policy get one label naming all three protocols."""
    runs = [fake(protocol, lam, (1.0 + 0.04 * k) / lam, (0.12 + 0.002 * k) * (1 + 0.02 * lam) + (0.05 if p else 0),
                 policy=policy)
            for p, policy in enumerate(("constant", "per-gradient")) for lam in (1, 2, 4, 8, 16)
            for k, protocol in enumerate(("hardsync", "softsync", "async"))]
    for r in runs:  # λ = 1: one learner; every protocol the same time and error
        if r.learners == 1:
            r.summary.update(training_seconds=1.0, test_error=0.12 + (0.05 if r.lr_policy == "per-gradient" else 0))
    fig = draw("tradeoff", runs)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 30 - 4
    assert "hardsync/1-softsync/async λ=1\nconstant" in texts and "async λ=16\nper-gradient" in texts
    assert fig.legends[0].get_title().get_text() == "all points: μ = 8"
    assert any(t.arrow_patch for t in fig.axes[0].texts)
    assert_cover_nothing(fig)


def test_coincident_points_that_differ_in_more_than_the_protocol_get_a_line_each():
    runs = [fake("async", 2, 1.0, 0.2), fake("hardsync", 4, 1.0, 0.2, policy="per-gradient"),
            fake("async", 2, 1.0, 0.2, kind="real"), fake("hardsync", 8, 3.0, 0.1)]
    texts = [t.get_text() for t in draw("tradeoff", runs).axes[0].texts]
    assert texts == ["async λ=2, constant\nhardsync λ=4, per-gradient", "hardsync λ=8\nconstant"]


def test_a_pareto_front_for_the_simulated_and_one_for_the_real_runs():
    """Each kind's front is its own staircase (a prediction is held against a measurement, not against
    the other kind's points); a kind with one run on its front draws none."""
    runs = [fake("async", 4, 1.0, 0.3), fake("hardsync", 4, 2.0, 0.2), fake("async", 2, 3.0, 0.25),
            fake("async", 4, 1.5, 0.28, kind="real"), fake("hardsync", 4, 2.5, 0.22, kind="real")]
    (ax,) = draw("tradeoff", runs).axes
    fronts = {line.get_label(): (line.get_linestyle(), line.get_xydata().round(9).tolist())
              for line in ax.lines if line.get_label().startswith("Pareto")}
    assert fronts == {
        "Pareto front of the simulated runs (none faster and more accurate)": ("--", [[1, 30], [2, 30], [2, 20]]),
        "Pareto front of the real runs (none faster and more accurate)": ("-", [[1.5, 28], [2.5, 28], [2.5, 22]])}
    (ax,) = draw("tradeoff", runs[:4]).axes
    assert [line.get_label() for line in ax.lines if line.get_label().startswith("Pareto")] == [
        "Pareto front of the simulated runs (none faster and more accurate)"]


def tick_labels(axis):
    """The tick labels of an axis that are drawn (inside its view, with text), lowest value first."""
    lo, hi = sorted(axis.get_view_interval())
    at = 1 if axis is axis.axes.yaxis else 0
    return sorted((t for t in axis.get_ticklabels(which="both") if t.get_text() and lo <= t.get_position()[at] <= hi),
                  key=lambda t: t.get_position()[at])


@pytest.mark.parametrize("top, decade", [(25_000, "10,000"), (1_000_000, "1,000,000")])
def test_staleness_log_axis_labels_decades_only_and_none_touch(grid, tmp_path, top, decade):
    """Up to `top` gradients per σ on a 3.4-inch panel (the log axis spans 6.5 and 8 decades; 2×, 5× and
    10× labels touched at the first, and the second had none): labels at powers of ten, plain, apart."""
    run = shutil.copytree(grid[0], tmp_path / "big")
    counts = [top // 10 ** (s // 3) for s in range(18)]
    (run / "staleness.csv").write_text("staleness,count\n" + "".join(f"{s},{c}\n" for s, c in enumerate(counts)))
    fig = draw("staleness", collect([run]))
    (ax,) = [a for a in fig.axes if a.get_visible()]
    with mpl.rc_context(figures.STYLE):
        renderer = labels.settle(fig)
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [t.get_window_extent(renderer) for t in tick_labels(axis)]
            assert len(boxes) >= 3
            assert not [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]
    shown = [t.get_text() for t in tick_labels(ax.yaxis)]
    assert decade in shown and set(shown) <= {f"{10 ** k:,}" for k in range(9)}


@pytest.mark.parametrize("view, shown", [
    ((150, 5000), ["200", "500", "1,000", "2,000", "5,000"]),  # under three decades: 2× and 5× too
    ((0.02, 0.9), ["0.02", "0.05", "0.1", "0.2", "0.5"]),
    ((3, 2e4), ["10", "100", "1,000", "10,000"]),
])
def test_log_ticks_are_plain_numbers(view, shown):
    fig, ax = figures.figure(6, 3)
    ax.set_yscale("log")
    figures.plain_log_ticks(ax.yaxis, 10)
    ax.set_ylim(*view)
    labels.settle(fig)
    assert [t.get_text() for t in tick_labels(ax.yaxis)] == shown


def test_pareto_front():
    # (time, error): the third is slower and worse than the second, the last is the most accurate
    assert pareto([(1, 30), (2, 20), (3, 25), (4, 10), (0.5, 50)]) == [4, 0, 1, 3]


def test_sweep_folder_lists_its_finished_runs(grid, tmp_path):
    sweep = tmp_path / "sweep"
    for d in grid[:3]:  # a sweep keeps its run directories inside its folder
        shutil.copytree(d, sweep / "points" / d.name)
    rows = [f"{k},ok,,points/{d.name}" for k, d in enumerate(grid[:3])]
    (sweep / "index.csv").write_text("protocol.learners,status,reason,run_dir\n" + "\n".join(rows)
                                     + f"\n8,invalid,n > λ,\n9,failed,learner 3 died,points/{grid[0].name}\n")
    runs = collect([sweep, grid[3]])
    assert [r.dir for r in runs] == [sweep / "points" / d.name for d in grid[:3]] + [grid[3]]
    assert plot([sweep], "speedup", tmp_path / "out")[0].is_file()


def test_refusals_are_one_line(grid, tmp_path, capsys):
    bare = simulate(tmp_path / "bare")  # no evaluations: nothing to put on a tradeoff
    assert main(["plot", str(bare), "--kind", "tradeoff", "--out", str(tmp_path)]) == 2
    assert main(["plot", str(grid[0]), "--kind", "pie", "--out", str(tmp_path)]) == 2
    assert main(["plot", str(tmp_path / "nowhere"), "--kind", "staleness"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert "test error" in err[0] and "allowed error-vs-time" in err[1] and "neither a run directory" in err[2]


def test_help_names_every_kind(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert all(kind in text for kind in KINDS)
