"""`rudra plot`: the figures a user decides a configuration from, drawn from run directories and
sweep folders (PNG and SVG; the same input gives the same bytes).

Kinds:
  error-vs-time, error-vs-epoch  test error curves, one per run (colour: configuration; line: sim/real)
  staleness    σ histogram per run, log counts, with n (the softness; λ for async) marked
  speedup      gradients/s over that of one learner against λ, per protocol, with the ideal y = λ
  throughput   gradients/s against λ, per protocol, with the ideal λ × (one learner's rate)
  tradeoff     final test error against time to train, one point per run, the Pareto front drawn
Simulated runs are drawn hollow and dashed, real ones filled and solid.
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

from . import figures
from .runs import Run, collect, distinct
from .trace import TraceError, read_csv

CLOCK = "time since run start (s; simulated seconds for a simulated run)"
COLOURS = colormaps["tab10"].colors


def colours(keys: list) -> dict:
    """A colour per distinct key, in order of first appearance (deterministic)."""
    distinct = list(dict.fromkeys(keys))
    return {k: COLOURS[i % len(COLOURS)] for i, k in enumerate(distinct)}


def legend(fig, ax, entries: int) -> None:
    """Inside the axes while short; below them, in two columns, once it would cover the data."""
    if entries > 5:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    else:
        ax.legend(loc="best")


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
    colour = colours([r.config_label for r, _ in curves])
    labels = distinct([f"{r.config_label}, {_kind_label(r)}" for r, _ in curves], [r.dir for r, _ in curves])
    fig, ax = figures.figure(8.5, 4.8)
    for (r, m), label in zip(curves, labels):
        style = figures.KIND[r.kind]
        ax.plot(m[x], 100 * m.test_error, color=colour[r.config_label], linestyle=style["linestyle"],
                marker=style["marker"], fillstyle=style["fillstyle"], markersize=4, label=label)
    over = "wall time" if x == "t" else "epochs"
    ax.set(title=f"Test error against {over}", xlabel=CLOCK if x == "t" else "epoch (passes over the training set)",
           ylabel="test error (%)")
    ax.set_ylim(bottom=0)
    legend(fig, ax, len(curves))
    return fig


def staleness(runs: list[Run]) -> Figure:
    """One panel per run: gradients per σ (log), the softness n and ⟨σ⟩ marked."""
    cols = min(3, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = figures.figure(4.6 * cols, 3.4 * rows, nrows=rows, ncols=cols, squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.set_visible(False)
    titles = distinct([r.config_label for r in runs], [r.dir for r in runs])
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
    fig.suptitle("Staleness distribution per run")
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


def _series_label(key: tuple) -> str:
    kind, protocol, minibatch, policy = key
    return f"{protocol}, μ={minibatch}, {policy} ({figures.KIND[kind]['label']})"


def scaling(runs: list[Run], what: str) -> Figure:
    """Speedup or throughput against λ, one line per protocol series, with the ideal linear line."""
    groups = _by_series(runs)
    colour = colours([k[1:] for k in groups])
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
                fillstyle=style["fillstyle"], markersize=7, label=_series_label(key))
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
    _log_if_wide(ax, "y", [y for line in ax.get_lines() for y in line.get_ydata()], 2)
    legend(fig, ax, drawn + 1)
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


def tradeoff(runs: list[Run]) -> Figure:
    """Final test error against time to train, one labelled point per run, the Pareto front drawn."""
    done = [r for r in runs if r.summary.get("test_error") is not None]
    if not done:
        raise TraceError("no run here recorded a test error: the tradeoff needs runs of `rudra train` or "
                         "simulations that evaluate")
    points = [(r.summary["seconds"], 100 * r.summary["test_error"]) for r in done]
    colour = colours([r.protocol_label for r in done])
    fig, ax = figures.figure(9, 5.6) if len(done) <= 8 else figures.figure(11, 7.5)
    front = pareto(points)
    ax.plot(*zip(*(points[i] for i in front)), color="grey", linestyle="-", linewidth=1.2, drawstyle="steps-post",
            zorder=1, label="Pareto front (no run is faster and more accurate)")
    seen = set()
    for r, (t, e) in zip(done, points):
        style = figures.KIND[r.kind]
        key = (r.kind, r.protocol_label)
        ax.plot(t, e, linestyle="none", marker=style["marker"], fillstyle=style["fillstyle"], markersize=9,
                markeredgewidth=1.5, color=colour[r.protocol_label], zorder=3 if r.kind == "sim" else 2,
                label=None if key in seen else f"{r.protocol_label} ({_kind_label(r)})")
        seen.add(key)
    _log_if_wide(ax, "x", [t for t, _ in points], 10)
    ax.set(title="Accuracy against runtime: final test error against time to train", xlabel=
           "time to train (s; simulated seconds for a simulated run)", ylabel="final test error (%)")
    ax.margins(x=0.2, y=0.2)
    legend(fig, ax, len(seen) + 1)
    figures.label_points(ax, points, [f"{r.protocol_label}\nλ={r.learners} μ={r.minibatch}\n{r.lr_policy}"
                                      for r in done], [colour[r.protocol_label] for r in done])
    return fig


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
