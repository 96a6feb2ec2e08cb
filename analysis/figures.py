"""What every figure of analysis/ shares: the look, how simulated and real runs are told apart,
and a deterministic PNG + SVG writer (matplotlib's object API on Agg: no display, no pyplot state)."""
from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

# svg.hashsalt fixes the ids matplotlib writes into SVGs (random per run otherwise); with the dates
# below left out, the same input gives the same bytes. Unhinted text is as wide at every dpi (hinted, a
# label measured on screen at figure.dpi grew 4 % against its neighbour in the PNG at savefig.dpi), so
# what labels.place measures is what the PNG and the SVG draw.
STYLE = {
    "svg.hashsalt": "rudra", "svg.fonttype": "path", "text.hinting": "none", "font.size": 10, "axes.titlesize": 11,
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
    """Major ticks of a log axis at powers of `base`, written as plain numbers (8, not 2³; 1,000,000, not
    1e+06). Base 10 adds unlabelled minor ticks at 2× … 9×, labelled at 2× and 5× only while the view
    holds fewer than three powers of ten (so a short range still reads)."""
    plain = FuncFormatter(lambda v, _: _plain(v))
    axis.set_major_locator(LogLocator(base=base, subs=(1.0,)))
    axis.set_major_formatter(plain)
    if base != 10:
        axis.set_minor_locator(NullLocator())
        return

    def minor(v: float, _) -> str:
        lo, hi = sorted(axis.get_view_interval())
        decades = math.floor(math.log10(hi)) - math.ceil(math.log10(lo)) + 1 if lo > 0 else 3
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6) if v > 0 else 0
        return _plain(v) if decades < 3 and mantissa in (2, 5) else ""

    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10))))
    axis.set_minor_formatter(FuncFormatter(minor))


def _plain(v: float) -> str:
    """A tick value as a person writes it: 0.05, 8, 1,000,000."""
    return f"{v:,.0f}" if v >= 1 else f"{v:g}"
