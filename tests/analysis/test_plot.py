"""`rudra plot`: every kind renders from small runs, with titles, labelled axes and a legend for every
line; simulated and real runs are told apart; a sweep folder reads like its run directories; the same
input gives the same bytes."""
import shutil
import xml.etree.ElementTree as ET
from itertools import combinations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from rudra.analysis import figures
from rudra.analysis.plot import KINDS, draw, pareto, plot
from rudra.analysis.runs import collect
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


def test_tradeoff_labels_every_point_without_overlap(grid):
    fig = draw("tradeoff", collect(grid))
    (ax,) = fig.axes
    notes = [t for t in ax.texts]
    assert len(notes) == len(grid)
    assert {n.get_text() for n in notes} >= {"async\nλ=4 μ=8\nconstant", "hardsync\nλ=1 μ=8\nconstant"}
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [n.get_window_extent(renderer) for n in notes]
    assert not [(a, b) for a, b in combinations(boxes, 2) if a.overlaps(b)]


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
