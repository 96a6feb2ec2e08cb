"""Labels beside the points of a scatter that cover nothing: no other label, no marker, no line they are
told to keep off, and nothing outside the axes. Each label tries rings of offsets around its marker
(nearest first, a leader line once it sits away from the marker), the most crowded points first; a few
more passes move the labels that still cover something. Positions are measured on the laid-out figure
in pixels, so what is checked is what is drawn."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

GAP = 2.0  # pixels kept clear between two labels, and between a label and a marker
PAD = 0.1  # the label's white box, in font sizes (matplotlib's boxstyle pad)
LINE_STEP = 3.0  # pixels between the sampled points of a line a label keeps off
CROWD = 80.0  # pixels: points with more neighbours this close are labelled first
PASSES = 3
# Directions in order of preference: right of the marker reads first, above and below last.
DIRECTIONS = [(1, 0), (1, 1), (1, -1), (-1, 0), (-1, 1), (-1, -1), (0, 1), (0, -1)]
RINGS = (0, 10, 22, 36, 52, 70, 90)  # points beyond the first ring, which clears the marker
ALIGN = {1: ("left", "bottom"), 0: ("center", "center"), -1: ("right", "top")}


@dataclass
class _Candidate:
    dx: float  # offset of the text's aligned corner or edge from the point, in points
    dy: float
    ha: str
    va: str
    leader: bool


def settle(fig) -> object:
    """Lay the figure out (sizes are pixels only once it is) and return a renderer to measure with."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def coincident(ax, points: list[tuple[float, float]], within_px: float) -> list[list[int]]:
    """The points in groups whose markers are drawn on one another (centres within `within_px`), each
    group in the points' order, groups in order of their first point."""
    settle(ax.figure)
    xy = ax.transData.transform(points)
    groups: list[list[int]] = []
    for i, p in enumerate(xy):
        home = next((g for g in groups if np.hypot(*(xy[g[0]] - p)) <= within_px), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


def place(ax, points: list[tuple[float, float]], texts: list[str], colours: list, *, marker_pt: float,
          fontsize: float = 7.5, avoid: tuple = ()) -> list[Annotation]:
    """Annotate each point with its text in its colour where the label covers nothing (see the module);
    `marker_pt`: the markers' diameter with their edge, in points; `avoid`: Line2Ds labels keep off."""
    fig = ax.figure
    renderer = settle(fig)
    px = fig.dpi / 72
    anchors = ax.transData.transform(points)
    radius = marker_pt / 2 * px
    marks = [Bbox.from_bounds(x - radius, y - radius, 2 * radius, 2 * radius) for x, y in anchors]
    frame = ax.get_window_extent(renderer)
    lines = _samples([line.get_transform().transform(line.get_xydata()) for line in avoid])
    sizes = [_size(ax, text, fontsize, renderer) for text in texts]
    first = marker_pt / 2 + GAP / px + PAD * fontsize  # points from the centre to clear the marker
    candidates = [_Candidate(first_dx, first_dy, ALIGN[ux][0], ALIGN[uy][1], ring > 0)
                  for ring in RINGS for ux, uy in DIRECTIONS
                  for first_dx, first_dy in [_offset(ux, uy, first + ring)]]

    def box(i: int, c: _Candidate) -> Bbox:
        """The label's white box with GAP / 2 around it, in pixels, for candidate c."""
        w, h = sizes[i]
        x = anchors[i][0] + c.dx * px - {"left": 0, "center": w / 2, "right": w}[c.ha]
        y = anchors[i][1] + c.dy * px - {"bottom": 0, "center": h / 2, "top": h}[c.va]
        grow = PAD * fontsize * px + GAP / 2
        return Bbox.from_extents(x - grow, y - grow, x + w + grow, y + h + grow)

    chosen: dict[int, tuple[float, _Candidate, Bbox]] = {}

    def cost(i: int, b: Bbox, c: _Candidate) -> float:
        others = [chosen[j][2] for j in chosen if j != i]
        c_ = 10 * sum(_overlap(b, o) for o in others + marks)
        c_ += 10 * (b.width * b.height - _overlap(b, frame))
        c_ += 20 * _inside(lines, b)
        if c.leader:  # the leader line from the marker's edge to the label crosses no label or other marker
            lead = _segment(anchors[i], np.array([(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2]), radius, b)
            c_ += 20 * sum(_inside(lead, o) for o in others + [m for j, m in enumerate(marks) if j != i])
        return c_

    def best(i: int) -> tuple[float, _Candidate, Bbox]:
        found = None
        for c in candidates:
            b = box(i, c)
            score = cost(i, b, c)
            if found is None or score < found[0]:
                found = (score, c, b)
            if score == 0:
                break
        return found

    crowd = [-int(np.sum(np.hypot(*(anchors - a).T) < CROWD)) for a in anchors]
    for i in sorted(range(len(points)), key=lambda i: (crowd[i], i)):
        chosen[i] = best(i)
    for _ in range(PASSES):  # a label placed early may now have a free place the later ones left
        moved = False
        for i in sorted(chosen):
            score = cost(i, chosen[i][2], chosen[i][1])
            if score > 0:
                again = best(i)
                if again[0] < score:
                    chosen[i], moved = again, True
        if not moved:
            break
    return [_annotate(ax, points[i], texts[i], colours[i], chosen[i][1], fontsize, marker_pt)
            for i in range(len(points))]


def _offset(ux: int, uy: int, d: float) -> tuple[float, float]:
    """The offset d along each axis the direction (ux, uy) moves on: a diagonal label's corner clears the
    marker's box as a side label's edge does."""
    return d * ux, d * uy


def _annotate(ax, xy, text: str, colour, c: _Candidate, fontsize: float, marker_pt: float) -> Annotation:
    note = ax.annotate(text, xy, xytext=(c.dx, c.dy), textcoords="offset points", ha=c.ha, va=c.va,
                       fontsize=fontsize, color=colour, zorder=4,
                       bbox={"boxstyle": f"square,pad={PAD}", "fc": "white", "ec": "none", "alpha": 0.85},
                       arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.6, "shrinkA": 0,
                                   "shrinkB": marker_pt / 2} if c.leader else None)
    note.set_in_layout(False)  # the layout was settled before the labels were measured; they must not move it
    return note


def _size(ax, text: str, fontsize: float, renderer) -> tuple[float, float]:
    """Width and height in pixels of the text as a label draws it."""
    probe = Text(0, 0, text, fontsize=fontsize, figure=ax.figure)
    extent = probe.get_window_extent(renderer)
    return extent.width, extent.height


def _samples(polylines: list[np.ndarray]) -> np.ndarray:
    """Points every LINE_STEP pixels along each polyline (pixel coordinates)."""
    out = [np.zeros((0, 2))]
    for xy in polylines:
        xy = xy[np.isfinite(xy).all(axis=1)]
        for a, b in zip(xy[:-1], xy[1:]):
            k = max(2, int(np.hypot(*(b - a)) / LINE_STEP) + 1)
            out.append(a + np.linspace(0, 1, k)[:, None] * (b - a))
    return np.concatenate(out)


def _segment(a: np.ndarray, b: np.ndarray, skip: float, own: Bbox) -> np.ndarray:
    """Sampled points of the leader from a to b, less the part inside the marker (radius `skip`) and the
    label's own box."""
    pts = _samples([np.array([a, b])])
    keep = (np.hypot(*(pts - a).T) > skip) & ~_within(pts, own)
    return pts[keep]


def _within(pts: np.ndarray, b: Bbox) -> np.ndarray:
    return (pts[:, 0] >= b.x0) & (pts[:, 0] <= b.x1) & (pts[:, 1] >= b.y0) & (pts[:, 1] <= b.y1)


def _inside(pts: np.ndarray, b: Bbox) -> int:
    """How many of the points lie in box b."""
    return int(_within(pts, b).sum()) if len(pts) else 0


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area (pixels²) that two boxes share."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0
