"""What every figure of analysis/ shares: the look, how simulated and real runs are told apart,
and a deterministic PNG + SVG writer (matplotlib's object API on Agg: no display, no pyplot state)."""
from __future__ import annotations

import functools
from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from matplotlib.transforms import Bbox

# svg.hashsalt fixes the ids matplotlib writes into SVGs (random per run otherwise); with the dates
# below left out, the same input gives the same bytes.
STYLE = {
    "svg.hashsalt": "rudra", "svg.fonttype": "path", "font.size": 10, "axes.titlesize": 11,
    "axes.labelsize": 10, "legend.fontsize": 8.5, "axes.grid": True, "grid.alpha": 0.3,
    "figure.dpi": 100, "savefig.dpi": 130, "savefig.bbox": "tight",
}
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}

# Simulated: hollow markers, dashed lines; real: filled markers, solid lines (also in greyscale).
KIND = {
    "sim": {"marker": "o", "linestyle": "--", "fillstyle": "none", "color": "tab:blue", "label": "simulated"},
    "real": {"marker": "s", "linestyle": "-", "fillstyle": "full", "color": "tab:orange", "label": "real"},
}


def styled(draw):
    """Run a drawing function inside STYLE: matplotlib reads most settings when an artist is made."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def figure(width: float, height: float, **subplots) -> tuple[Figure, object]:
    """A new figure (inches) and its axes (Figure.subplots arguments), laid out without overlaps."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(**subplots)


@styled
def save(fig: Figure, out_dir: str | Path, stem: str) -> list[Path]:
    """Write `stem`.png and `stem`.svg into out_dir; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.{ext}" for ext in ("png", "svg")]
    for path in paths:
        fig.savefig(path, metadata=METADATA[path.suffix[1:]])
    return paths


def plain_log_ticks(axis, base: int) -> None:
    """Major ticks of a log axis at powers of `base` (base 10: also 2× and 5× them, so that a short range
    still has several), written as plain numbers (8, not 2³); no minor labels."""
    axis.set_major_locator(LogLocator(base=base, subs=(1.0, 2.0, 5.0) if base == 10 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def label_points(ax, points: list[tuple[float, float]], texts: list[str], colours: list, fontsize: float = 7.5) -> None:
    """Annotate each point with its text in its colour, beside it where the label covers no other label,
    no point and does not leave the axes (greedy over rings of offsets, a leader line beyond the first;
    the least-covering place where none is free)."""
    fig = ax.figure
    FigureCanvasAgg(fig)  # a renderer to measure text with
    fig.draw_without_rendering()  # settle the layout first: label sizes are measured in pixels
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    marks = [Bbox.from_bounds(x - 7, y - 7, 14, 14) for x, y in ax.transData.transform(points)]
    placed: list[Bbox] = []
    align = {1: ("left", "bottom"), 0: ("center", "center"), -1: ("right", "top")}
    offsets = [(r * dx, r * dy, align[dx][0], align[dy][1]) for r in (8, 26, 44, 62)
               for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))]

    def cost(box: Bbox) -> float:
        covered = sum(_overlap(box, other) for other in placed + marks)
        outside = box.width * box.height - _overlap(box, frame)
        return covered + 4 * outside

    for xy, text, colour in zip(points, texts, colours):
        best = None
        for dx, dy, ha, va in offsets:
            note = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                               fontsize=fontsize, color=colour, zorder=4,
                               bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
                               arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.6}
                               if max(abs(dx), abs(dy)) > 10 else None)
            box = note.get_window_extent(renderer)
            c = cost(box)
            if best is None or c < best[0]:
                if best is not None:
                    best[1].remove()
                best = (c, note, box)
            else:
                note.remove()
            if c == 0:
                break
        placed.append(best[2])


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area (pixels²) that two boxes share."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0
