"""`rudra plot`: the figures a user decides a configuration from, drawn from run directories and
sweep folders (PNG and SVG; the same input gives the same bytes).

Kinds:
  error-vs-time, error-vs-epoch  test error curves, one per run (colour: protocol, darker for more
               learners; line: sim/real)
  staleness    σ histogram per run, log counts, with n (the softness; λ for async) marked
  speedup      gradients/s over that of one learner against λ, per protocol, with the ideal y = λ
  throughput   gradients/s against λ, per protocol, with the ideal λ × (one learner's rate)
  tradeoff     final test error against time to train, one labelled point per run, a Pareto front each
               for the simulated and the real runs
Simulated runs are drawn hollow and dashed, real ones filled and solid. Settings every run of a figure
shares (μ, lr policy) are said once, in its legend title or suptitle, not on every label.
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullLocator

from . import figures, labels
from .runs import Run, collect, distinct, note, shared
from .trace import TraceError, read_csv

CLOCK = "time since run start (s; simulated seconds for a simulated run)"
COLOURS = colormaps["tab10"].colors


def colours(keys: list) -> dict:
    """A colour per distinct key, in order of first appearance (deterministic)."""
    distinct = list(dict.fromkeys(keys))
    return {k: COLOURS[i % len(COLOURS)] for i, k in enumerate(distinct)}


def shades(runs: list[Run]) -> dict[str, tuple]:
    """A colour per configuration: its protocol's colour (as in every other figure), lighter for that
    protocol's first configuration (fewest learners) and darker for its last, so no two lines of one
    figure share a colour and a protocol's lines read as one family."""
    base = colours([r.protocol_label for r in runs])
    family: dict[str, list[str]] = defaultdict(list)
    for r in sorted(runs, key=lambda r: (r.learners, r.minibatch, r.lr_policy)):
        if r.config_label not in family[r.protocol_label]:
            family[r.protocol_label].append(r.config_label)
    out = {}
    for protocol, configs in family.items():
        for k, config in enumerate(configs):
            out[config] = _shade(base[protocol], k / (len(configs) - 1) if len(configs) > 1 else 0.5)
    return out


def _shade(rgb: tuple, t: float) -> tuple:
    """rgb mixed with white (t < 0.5) or black (t > 0.5): t = 0 is the lightest, 1 the darkest."""
    towards, amount = ((1.0, 1.0, 1.0), 0.45 * (1 - 2 * t)) if t < 0.5 else ((0.0, 0.0, 0.0), 0.45 * (2 * t - 1))
    return tuple((1 - amount) * c + amount * w for c, w in zip(rgb, towards))


def legend(fig, ax, entries: int, title: str = "", outside: bool = False) -> None:
    """Inside the axes while short; below them, in two columns, once it would cover the data (or where
    the axes hold labels it must not cover). `title`: the settings every line shares (runs.note)."""
    if outside or entries > 5:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, title=title or None)
    else:
        ax.legend(loc="best", title=title or None)


def _kind_label(run: Run) -> str:
    return figures.KIND[run.kind]["label"]


def _log_if_wide(ax, axis: str, values, base: int) -> None:
    """Log scale where the values span 8× or more, ticks at powers of `base` written as plain numbers."""
    values = [v for v in values if v > 0]
    if values and max(values) >= 8 * min(values):
        getattr(ax, f"set_{axis}scale")("log", base=base)
        figures.plain_log_ticks(ax.xaxis if axis == "x" else ax.yaxis, base)


def error_curves(runs: list[Run], x: str) -> Figure:
    """Test error (%) against time or epochs, one line per run that evaluated."""
    curves = [(r, read_csv(r.dir / "metrics.csv")) for r in runs]
    curves = [(r, m) for r, m in curves if m.test_error.notna().any()]
    if not curves:
        raise TraceError("no run here recorded a test error (metrics.csv is empty): error curves need runs of "
                         "`rudra train` or simulations that evaluate")
    order = {p: k for k, p in enumerate(dict.fromkeys(r.protocol_label for r, _ in curves))}
    curves.sort(key=lambda c: (order[c[0].protocol_label], c[0].learners, c[0].minibatch, c[0].lr_policy,
                               c[0].kind != "sim"))  # a legend grouped by protocol, prediction beside measurement
    runs = [r for r, _ in curves]
    colour, common = shades(runs), shared(runs)
    names = distinct([f"{r.label(common)}, {_kind_label(r)}" for r in runs], [r.dir for r in runs])
    fig, ax = figures.figure(8.5, 4.8)
    for (r, m), label in zip(curves, names):
        style = figures.KIND[r.kind]
        ax.plot(m[x], 100 * m.test_error, color=colour[r.config_label], linestyle=style["linestyle"],
                marker=style["marker"], fillstyle=style["fillstyle"], markersize=4, label=label)
    over = "wall time" if x == "t" else "epochs"
    ax.set(title=f"Test error against {over}", xlabel=CLOCK if x == "t" else "epoch (passes over the training set)",
           ylabel="test error (%)")
    ax.set_ylim(bottom=0)
    legend(fig, ax, len(curves), note(common))
    return fig


def staleness(runs: list[Run]) -> Figure:
    """One panel per run: gradients per σ (log), the softness n and ⟨σ⟩ marked."""
    cols = min(3, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = figures.figure(4.6 * cols, 3.4 * rows, nrows=rows, ncols=cols, squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.set_visible(False)
    common = shared(runs)
    titles = distinct([f"{r.label(common)} ({_kind_label(r)})" for r in runs], [r.dir for r in runs])
    for ax, r, title in zip(axes.flat, runs, titles):
        style = figures.KIND[r.kind]
        hist = read_csv(r.dir / "staleness.csv")
        full = np.arange(hist.staleness.min(), hist.staleness.max() + 1) if len(hist) else np.array([0])
        counts = hist.set_index("staleness")["count"].reindex(full, fill_value=0).to_numpy()
        edges = np.append(full, full[-1] + 1) - 0.5
        # bars rise from below one gradient, so a σ seen once still shows on the log axis
        ax.stairs(counts, edges, baseline=0.5, fill=r.kind == "real", alpha=0.6 if r.kind == "real" else 1.0,
                  color=style["color"], linestyle=style["linestyle"], linewidth=1.5,
                  label=f"{_kind_label(r)}: {int(counts.sum())} gradients")
        mean = r.summary["staleness"]["mean"]
        ax.axvline(mean, color="black", linestyle=":", linewidth=1.2, label=rf"$\langle\sigma\rangle$ = {mean:.2f}")
        if r.n is not None:
            ax.axvline(r.n, color="tab:red", linestyle="-.", linewidth=1.2,
                       label=f"n = {r.n}" + (" (async: n = λ)" if r.protocol == "async" else ""))
        ax.set_yscale("log")
        ax.set_ylim(0.5, 60 * max(counts.max(), 1))  # headroom in log space: the legend sits above the bars
        figures.plain_log_ticks(ax.yaxis, 10)
        ax.set_xlim(min(-1.0, edges[0] - 0.5), max(edges[-1], r.n or 0) + 1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(title=title, xlabel="staleness σ (versions)", ylabel="gradients (log scale)")
        ax.legend(loc="upper left")
    fig.suptitle("Staleness distribution per run" + (f"\n{note(common)}" if common else ""))
    return fig


def _baseline(series: list[Run], r: Run) -> float | None:
    """One learner's gradients/s for run r's curve: its λ = 1 run, or what the simulator measured for r."""
    ones = [s for s in series if s.learners == 1]
    if ones:
        return ones[0].summary["gradients_per_second"]
    speedup = (r.summary.get("sim") or {}).get("speedup")
    return r.summary["gradients_per_second"] / speedup if speedup else None


def _by_series(runs: list[Run]) -> dict[tuple, list[Run]]:
    groups: dict[tuple, list[Run]] = defaultdict(list)
    for r in runs:
        groups[r.series].append(r)
    return {k: sorted(v, key=lambda r: r.learners) for k, v in groups.items()}


def _series_label(series: list[Run], common: dict) -> str:
    """The protocol, what of μ and lr policy is not common to the figure, and the kind."""
    r = series[0]
    return ", ".join([r.protocol_label, *r.extras(common)]) + f" ({_kind_label(r)})"


def scaling(runs: list[Run], what: str) -> Figure:
    """Speedup or throughput against λ, one line per protocol series, with the ideal linear line."""
    groups = _by_series(runs)
    colour, common = colours([k[1:] for k in groups]), shared(runs)
    fig, ax = figures.figure(8.5, 4.8)
    ideal_x: list[float] = []
    drawn = 0
    for key, series in groups.items():
        bases = [_baseline(series, r) for r in series]
        if what == "speedup":
            pts = [(r.learners, r.summary["gradients_per_second"] / b) for r, b in zip(series, bases) if b]
        else:
            pts = [(r.learners, r.summary["gradients_per_second"]) for r in series]
        if not pts:
            continue
        style = figures.KIND[key[0]]
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=colour[key[1:]], linestyle=style["linestyle"], marker=style["marker"],
                fillstyle=style["fillstyle"], markersize=7, label=_series_label(series, common))
        drawn += 1
        ideal_x += xs
        if what == "throughput" and bases[0]:
            lam = np.array(sorted({1, *xs}))
            ax.plot(lam, lam * bases[0], color=colour[key[1:]], linestyle=":", linewidth=1)
    if not drawn:
        raise TraceError("speedup needs, per protocol, a run with λ = 1 or simulated runs (which measure it)")
    lam = np.array(sorted({1, *ideal_x}))
    if what == "speedup":
        ax.plot(lam, lam, color="grey", linestyle=":", linewidth=1.2, label="ideal: speedup = λ")
        ax.set(title="Speedup against learners", ylabel="speedup (gradients/s ÷ one learner's)")
    else:
        ax.add_line(Line2D([], [], color="grey", linestyle=":", linewidth=1,
                           label="ideal: λ × one learner's rate (dotted, in each line's colour)"))
        ax.set(title="Throughput against learners", ylabel="gradients applied per second (1/s)")
    ax.set_xlabel("learners λ")
    _log_if_wide(ax, "x", lam, 2)
    if len(lam) <= 12:  # ticks at the λ values run, plain integers
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(lam, labels=[str(v) for v in lam])
    # speedups are read against λ (powers of 2), rates as plain numbers (powers of 10)
    _log_if_wide(ax, "y", [y for line in ax.get_lines() for y in line.get_ydata()], 2 if what == "speedup" else 10)
    legend(fig, ax, drawn + 1, note(common))
    return fig


def pareto(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats in both time and error (lower is better), by time."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    front, best = [], math.inf
    for i in order:
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def steps(points: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """A Pareto front (by time) as the staircase it bounds: the best error reached by each time."""
    xs, ys = [points[0][0]], [points[0][1]]
    for (t, e), (_, before) in zip(points[1:], points):
        xs += [t, t]
        ys += [before, e]
    return xs, ys


MARKER_PT = 9  # tradeoff markers' size in points; their edge adds EDGE_PT
EDGE_PT = 1.5


def tradeoff(runs: list[Run]) -> Figure:
    """Final test error against time to train, one point per run, a Pareto front for the simulated and one
    for the real runs; each point (or points drawn on one another) labelled with what varies."""
    done = [r for r in runs if r.summary.get("test_error") is not None]
    if not done:
        raise TraceError("no run here recorded a test error: the tradeoff needs runs of `rudra train` or "
                         "simulations that evaluate")
    points = [(r.summary["training_seconds"], 100 * r.summary["test_error"]) for r in done]
    colour, common = colours([r.protocol_label for r in done]), shared(done)
    fig, ax = figures.figure(9, 5.6) if len(done) <= 8 else figures.figure(11, 7.5)
    fronts = []
    for kind, style in figures.KIND.items():
        mine = [i for i, r in enumerate(done) if r.kind == kind]
        front = [points[mine[k]] for k in pareto([points[i] for i in mine])]
        if len(front) > 1:
            fronts += ax.plot(*steps(front), color="grey", linestyle=style["linestyle"], linewidth=1.2, zorder=1,
                              label=f"Pareto front of the {style['label']} runs (none faster and more accurate)")
    seen = set()
    for r, (t, e) in zip(done, points):
        style = figures.KIND[r.kind]
        key = (r.kind, r.protocol_label)
        ax.plot(t, e, linestyle="none", marker=style["marker"], fillstyle=style["fillstyle"], markersize=MARKER_PT,
                markeredgewidth=EDGE_PT, color=colour[r.protocol_label], zorder=3 if r.kind == "sim" else 2,
                label=None if key in seen else f"{r.protocol_label} ({_kind_label(r)})")
        seen.add(key)
    _log_if_wide(ax, "x", [t for t, _ in points], 10)
    ax.set(title="Accuracy against runtime: final test error against time to train", xlabel=
           "time to train (s; simulated seconds for a simulated run)", ylabel="final test error (%)")
    ax.margins(x=0.2, y=0.2)
    legend(fig, ax, len(seen) + len(fronts), note(common, "points"), outside=True)  # the axes hold the labels
    groups = labels.coincident(ax, points, within_px=2)
    texts = [_point_label([done[i] for i in g], common) for g in groups]
    tints = [colour[done[g[0]].protocol_label] if len({done[i].protocol_label for i in g}) == 1 else "0.25"
             for g in groups]
    labels.place(ax, [points[g[0]] for g in groups], texts, tints, marker_pt=MARKER_PT + EDGE_PT, avoid=tuple(fronts))
    return fig


def _point_label(group: list[Run], common: dict) -> str:
    """'async λ=4', with μ and lr policy where they vary on a second line. Points drawn on one another get
    one label: each setting's values joined with '/' where the points are every combination of them, else
    a line per λ, μ and lr policy with the protocols that share it."""
    parts = list(dict.fromkeys((r.protocol_label, f"λ={r.learners}", ", ".join(r.extras(common))) for r in group))
    values = [list(dict.fromkeys(p[k] for p in parts)) for k in range(3)]
    if len(parts) == math.prod(map(len, values)):
        top, extra = f"{'/'.join(values[0])} {'/'.join(values[1])}", "/".join(values[2])
        return top + (f"\n{extra}" if extra else "")
    rest: dict[tuple, list[str]] = defaultdict(list)
    for protocol, *others in parts:
        rest[tuple(others)].append(protocol)
    return "\n".join(" ".join(["/".join(protocols), learners]) + (f", {extra}" if extra else "")
                     for (learners, extra), protocols in rest.items())


DRAW = {
    "error-vs-time": lambda runs: error_curves(runs, "t"),
    "error-vs-epoch": lambda runs: error_curves(runs, "epoch"),
    "staleness": staleness,
    "speedup": lambda runs: scaling(runs, "speedup"),
    "throughput": lambda runs: scaling(runs, "throughput"),
    "tradeoff": tradeoff,
}
KINDS = tuple(DRAW)


def drawer(kind: str):
    """The function that draws `kind`; a one-line TraceError for an unknown kind."""
    if kind not in DRAW:
        raise TraceError(f"plot kind {kind!r}: allowed {', '.join(KINDS)}")
    return DRAW[kind]


@figures.styled
def draw(kind: str, runs: list[Run]) -> Figure:
    """The figure of `kind` for these runs (unsaved), drawn in the shared style."""
    return drawer(kind)(runs)


def plot(paths: list[str | Path], kind: str, out: str | Path) -> list[Path]:
    """Draw `kind` from the runs in `paths` (run directories or sweep folders) into `out`; the files written."""
    drawer(kind)  # an unknown kind is refused before any run is read
    return figures.save(draw(kind, collect(paths)), out, kind)
