"""`rudra compare`: a simulated run held against one or more real runs of the same config.

For each quantity of the shared summary: the prediction, the measurement's mean and run-to-run
spread over the real runs, the relative error, and whether the prediction lies inside the
measured spread (min–max). Further simulated runs of the config (other seeds) make the prediction
their mean, shown with their own min–max: one short simulated run is a sample of the model's
randomness. The staleness distributions are compared by total variation distance,
TV = ½ Σ_σ |p_sim(σ) − p_real(σ)|, with the real runs pooled; the largest TV between two real runs
is their own noise floor. With full traces, the table also splits a gradient's time into phases
(analysis/phases.py: compute, exchange, push → applied, the learner's cycle), so an error in time per
epoch shows which part of the cluster model it comes from, splits push → applied as shard 0 timed it
(received, queued, served), and counts a learner's pulls per gradient (under adv*: the fewer, the staler);
where both sides counted CPU (analysis/cpu.py), the CPU per gradient each charged tells a cost misread
from a wait mispredicted. One figure overlays both:
staleness, updates against time, per-learner throughput, and with full traces the phases.
"""
from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rudra.protocol import read_run_json
from rudra.protocol.trace import PUSH_PATH

from . import figures
from .cpu import PARTS, cpu_per_gradient
from .phases import (CYCLE, GAP_QUANTILES, PHASES, gap_quantiles, phases, pulls_per_gradient, push_path,
                     steady_gradients)
from .runs import kind_of
from .summary import summarize
from .trace import TraceError, read_csv

# (quantity, unit, path into the summary)
QUANTITIES = [
    ("time per epoch", "s", ("seconds_per_epoch",)),
    ("gradients/s", "1/s", ("gradients_per_second",)),
    ("updates/s", "1/s", ("updates_per_second",)),
    ("⟨σ⟩", "versions", ("staleness", "mean")),
    ("σ p99", "versions", ("staleness", "p99")),
    ("per-learner gradients/s, mean", "1/s", ("learner_gradients_per_second", "mean")),
    ("per-learner gradients/s, min", "1/s", ("learner_gradients_per_second", "min")),
    ("per-learner gradients/s, max", "1/s", ("learner_gradients_per_second", "max")),
]
SAME = ("learners", "minibatch", "gradients_per_epoch")  # run.json inputs that make two runs one config
HEADER = ["quantity", "unit", "predicted", "measured mean", "measured min–max", "measured std", "error",
          "inside spread"]


@dataclass(frozen=True)
class Row:
    """One quantity: predicted, the real runs' values, and the prediction's error against their mean."""

    quantity: str
    unit: str
    predicted: float
    measured: tuple[float, ...]
    predictions: tuple[float, ...] = ()  # each simulated run's, when several (predicted is their mean)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.measured)

    @property
    def std(self) -> float:
        """Sample standard deviation over the real runs (0 for one run)."""
        return statistics.stdev(self.measured) if len(self.measured) > 1 else 0.0

    @property
    def error(self) -> float | None:
        """(predicted − measured mean) ÷ measured mean; 0 where both are 0, None where only the mean is."""
        if self.mean == 0:
            return 0.0 if self.predicted == 0 else None
        return (self.predicted - self.mean) / self.mean

    @property
    def inside(self) -> bool:
        """The prediction lies within the real runs' min–max."""
        return min(self.measured) <= self.predicted <= max(self.measured)

    def cells(self) -> list[str]:
        lo, hi = min(self.measured), max(self.measured)
        error = "n/a (measured 0)" if self.error is None else f"{100 * self.error:+.1f}%"
        predicted = _num(self.predicted) + (f" ({_num(min(self.predictions))}–{_num(max(self.predictions))})"
                                            if len(self.predictions) > 1 else "")
        return [self.quantity, self.unit, predicted, _num(self.mean), f"{_num(lo)}–{_num(hi)}",
                _num(self.std), error, "yes" if self.inside else "no"]


@dataclass(frozen=True)
class Comparison:
    sims: tuple[Path, ...]     # the simulated runs: one, or one per seed
    real: tuple[Path, ...]
    rows: tuple[Row, ...]
    tv: float                  # the simulated runs pooled against the real runs pooled
    tv_between_real: float     # largest TV between two real runs (0 with one run)
    summaries: dict            # run dir -> summary
    sigma_sim: pd.Series       # share of gradients per σ, the simulated runs pooled
    sigma_real: pd.Series      # the same, the real runs' gradients pooled

    def table(self) -> list[list[str]]:
        return [r.cells() for r in self.rows]

    def text(self) -> str:
        """The table for a terminal: columns aligned, numbers right-aligned."""
        rows = [HEADER, *self.table()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]

        def line(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, self.table()), "",
                          self.tv_line(), *self.stolen_lines()])

    def markdown(self) -> str:
        head = [f"# Prediction against measurement", "",
                f"- predicted: {len(self.sims)} run(s): " + ", ".join(f"`{d}`" for d in self.sims)
                + (" (the prediction is their mean, their min–max in brackets)" if len(self.sims) > 1 else ""),
                f"- measured: {len(self.real)} run(s): " + ", ".join(f"`{d}`" for d in self.real),
                "- error: (predicted − measured mean) ÷ measured mean; inside spread: the prediction lies "
                "within the real runs' min–max", "",
                "| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 6) + "|"]
        return "\n".join([*head, *("| " + " | ".join(r) + " |" for r in self.table()), "", self.tv_line(),
                          *(part for line in self.stolen_lines() for part in ("", line)), ""])

    def tv_line(self) -> str:
        return (f"staleness distributions: total variation distance {self.tv:.3f} (sim against the real runs, each "
                f"side pooled); between real runs up to {self.tv_between_real:.3f}")

    @property
    def stolen(self) -> tuple[float | None, ...]:
        """Each real run's share of the machine's CPU time a hypervisor took meanwhile (None: not counted)."""
        return tuple(stolen_share(self.summaries[d]) for d in self.real)

    def stolen_lines(self) -> list[str]:
        """Each real run's stolen CPU, where counted (none: no line): a run that lost a share of it met a machine
        that much slower than the one its calibration measured."""
        if all(x is None for x in self.stolen):
            return []
        return ["CPU time a hypervisor took from this machine during each real run: " + ", ".join(
            "not counted" if x is None else f"{100 * x:.1f}%" for x in self.stolen)]


def _num(v: float) -> str:
    return f"{v:.4g}"


def _get(summary: dict, path: tuple[str, ...], where: Path) -> float:
    v = summary
    for key in path:
        v = v[key]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        raise TraceError(f"{where}: no {'.'.join(path)} in its summary (a run without gradients?)")
    return float(v)


def stolen_share(summary: dict) -> float | None:
    """The share of the machine's CPU time a hypervisor took during a real run (run.json runtime.stolen), None
    for a simulated run or where the OS did not count it."""
    runtime = summary.get("runtime")
    return runtime.get("stolen") if isinstance(runtime, dict) else None


def staleness_distribution(*run_dirs: Path) -> pd.Series:
    """Share of gradients per σ over the runs' gradients pooled, from staleness.csv (exact at any λ)."""
    counts = [read_csv(d / "staleness.csv").set_index("staleness")["count"] for d in run_dirs]
    pooled = pd.concat(counts, axis=1).fillna(0).sum(axis=1).sort_index()
    return pooled / pooled.sum()


def tv_distance(p: pd.Series, q: pd.Series) -> float:
    """½ Σ |p − q| over the union of σ values."""
    p, q = p.align(q, fill_value=0.0)
    return 0.5 * float((p - q).abs().sum())


def _check_kinds(sims: list[Path], real: list[Path]) -> None:
    """A prediction must be simulated and a measurement real: swapped arguments would give a table that looks
    right and means nothing."""
    name = {"sim": "simulated", "real": "real"}
    for dirs, want in ((sims, "sim"), (real, "real")):
        for d in dirs:
            if (kind := kind_of(read_run_json(d))) != want:
                raise TraceError(f"{d}: a {name[kind]} run where compare wants a {name[want]} one (give SIMRUN "
                                 "first, then the real runs; --also takes simulated runs)")


def _check_same_config(sim: Path, others: list[Path]) -> None:
    ref = read_run_json(sim).get("inputs", {})
    for d in others:
        inputs = read_run_json(d).get("inputs", {})
        for key in SAME:
            if inputs.get(key) != ref.get(key):
                raise TraceError(f"{d}: {key} = {inputs.get(key)} but {sim} has {ref.get(key)}; "
                                 "compare runs of one config")


def compare(sim: str | Path, real: list[str | Path], also: list[str | Path] = ()) -> Comparison:
    """Hold the simulated run `sim` (with `also`, further simulated runs of the config: their mean) against the
    real runs (one or more) of the same config."""
    sims, real = [Path(sim), *map(Path, also)], [Path(d) for d in real]
    if not real:
        raise TraceError("compare: give one simulated run and at least one real run")
    summaries = {d: summarize(d) for d in dict.fromkeys([*sims, *real])}
    _check_kinds(sims, real)
    _check_same_config(sims[0], [*sims[1:], *real])

    def row(name: str, unit: str, value: Callable[[Path], float]) -> Row:
        predictions = tuple(value(d) for d in sims)
        return Row(name, unit, statistics.fmean(predictions), tuple(value(d) for d in real),
                   predictions if len(sims) > 1 else ())

    rows = [row(name, unit, lambda d, path=path: _get(summaries[d], path, d)) for name, unit, path in QUANTITIES]
    steady = {d: steady_gradients(d) for d in summaries}
    times = {d: phases(g) for d, g in steady.items()}
    if None not in times.values():  # full traces: where the time goes, phase by phase, and the waits' shape
        rows += [row(phase_quantity(name), "ms", lambda d, name=name: 1e3 * times[d][name])
                 for name in (*PHASES, CYCLE)]
        gaps = {d: gap_quantiles(g) for d, g in steady.items()}
        rows += [row(gap_quantity(name), "ms", lambda d, name=name: 1e3 * gaps[d][name]) for name in GAP_QUANTILES]
        rows.append(row(PULLS, "pulls", lambda d: pulls_per_gradient(steady[d])))
    path = {d: push_path(summaries[d]) for d in summaries}
    if None not in path.values():  # both drivers timed shard 0's push path: which part of push → applied is off
        rows += [row(push_path_quantity(part), "ms", lambda d, part=part: 1e3 * path[d][part]) for part in PUSH_PATH]
    cpu = {d: cpu_per_gradient(summaries[d]) for d in summaries}
    if None not in cpu.values():  # both drivers counted CPU: the work charged, apart from the waiting
        rows += [row(cpu_quantity(part), "ms", lambda d, part=part: 1e3 * cpu[d][part]) for part in PARTS]

    dist = {d: staleness_distribution(d) for d in real}
    predicted, pooled = staleness_distribution(*sims), staleness_distribution(*real)
    between = [tv_distance(dist[a], dist[b]) for a, b in itertools.combinations(real, 2)]
    return Comparison(tuple(sims), tuple(real), tuple(rows), tv_distance(predicted, pooled),
                      max(between, default=0.0), summaries, predicted, pooled)


def phase_quantity(name: str) -> str:
    """The table's quantity for phase `name` (analysis/phases.py), or for CYCLE."""
    return f"phase: {name}"


def gap_quantity(name: str) -> str:
    """The table's quantity for the gap quantile `name` (analysis/phases.py: GAP_QUANTILES)."""
    return f"gap to the next compute, {name}"


PULLS = "pulls per gradient"  # the table's quantity for analysis/phases.py pulls_per_gradient


def push_path_quantity(part: str) -> str:
    """The table's quantity for part `part` of shard 0's push → applied (protocol.trace.PUSH_PATH)."""
    return f"push → applied: {part}"


def cpu_quantity(part: str) -> str:
    """The table's quantity for CPU part `part` (analysis/cpu.py)."""
    return f"CPU per gradient: {part}"


@figures.styled
def figure(c: Comparison) -> Figure:
    """Staleness distributions, cumulative updates against time and per-learner throughput, sim over real; with
    full traces also where a gradient's time goes."""
    phased = any(r.quantity == phase_quantity(CYCLE) for r in c.rows)
    if phased:  # full traces: a fourth panel, where a gradient's time goes
        fig, ((ax_sigma, ax_updates), (ax_learners, ax_phases)) = figures.figure(12, 8.6, nrows=2, ncols=2)
    else:
        fig, (ax_sigma, ax_updates, ax_learners) = figures.figure(15, 4.6, ncols=3)
    sim, real = figures.KIND["sim"], figures.KIND["real"]
    n_real = f"{real['label']} ({len(c.real)} run{'s' if len(c.real) > 1 else ''})"
    n_sim = sim["label"] + (f" ({len(c.sims)} runs)" if len(c.sims) > 1 else "")

    # staleness: share of gradients per σ, log scale so that the tails show
    p, pooled = c.sigma_sim, c.sigma_real
    edges = np.arange(min(p.index.min(), pooled.index.min()), max(p.index.max(), pooled.index.max()) + 2) - 0.5
    for dist, style, label, fill in [(pooled, real, f"{n_real}, pooled", True),
                                     (p, sim, n_sim + (", pooled" if len(c.sims) > 1 else ""), False)]:
        values = dist.reindex(np.arange(edges[0] + 0.5, edges[-1])).fillna(0).to_numpy()
        ax_sigma.stairs(values, edges, fill=fill, alpha=0.45 if fill else 1.0, color=style["color"],
                        linestyle=style["linestyle"], linewidth=1.8, label=label)
    ax_sigma.set_yscale("log")
    ax_sigma.set(title=f"Staleness (TV distance {c.tv:.3f})", xlabel="staleness σ (versions)",
                 ylabel="share of gradients (log scale)")

    # cumulative updates against time, one line per run
    for k, d in enumerate([*c.sims, *c.real]):
        simulated = k < len(c.sims)
        style = sim if simulated else real
        updates = read_csv(d / "updates.csv")
        s = c.summaries[d]
        t = np.concatenate([[0.0], updates.t.to_numpy(), [s["seconds"]]])
        n = np.concatenate([[0], updates.version.to_numpy(), [s["updates"]]])
        label = n_sim if k == 0 else (n_real if k == len(c.sims) else None)
        ax_updates.plot(t, n, color=style["color"], linestyle=style["linestyle"], linewidth=1.6,
                        alpha=1.0 if simulated else 0.7, label=label,
                        # a summary-only trace has no update rows: its line is the mean rate, not a step
                        drawstyle="steps-post" if len(updates) else "default",
                        zorder=3 if simulated else 2)
    ax_updates.set(title="Updates applied against time", xlabel="time since run start (s)",
                   ylabel="updates applied (cumulative)")

    # per-learner throughput: the prediction against the real runs' mean and min–max
    def rates(d: Path) -> np.ndarray:
        s = c.summaries[d]
        return np.asarray(s["learner_gradients"], float) / s["training_seconds"]

    measured = np.array([rates(d) for d in c.real])
    learners = np.arange(measured.shape[1])
    mean = measured.mean(axis=0)
    ax_learners.errorbar(learners + 0.08, mean, yerr=[mean - measured.min(axis=0), measured.max(axis=0) - mean],
                         color=real["color"], marker=real["marker"], linestyle="none", capsize=3,
                         label=f"{n_real}: mean, min–max")
    predicted = np.mean([rates(d) for d in c.sims], axis=0)
    ax_learners.plot(learners - 0.08, predicted, color=sim["color"], marker=sim["marker"],
                     fillstyle=sim["fillstyle"], linestyle="none", markersize=8, markeredgewidth=1.5,
                     label=n_sim + (": mean" if len(c.sims) > 1 else ""))
    # from 0, with room above the highest marker (autoscaling after the bottom is pinned leaves it on the edge)
    ax_learners.set_ylim(0, 1.1 * max(measured.max(), predicted.max()))
    ax_learners.set_xticks(learners if len(learners) <= 16 else learners[::max(1, len(learners) // 16)])
    ax_learners.set(title="Per-learner throughput", xlabel="learner id", ylabel="gradients applied per second (1/s)")
    for ax in (ax_sigma, ax_updates, ax_learners):
        ax.legend(loc="best")
    if phased:
        _phases_panel(ax_phases, c, n_sim, n_real)
    return fig


PHASE_COLORS = dict(zip(PHASES, ("tab:green", "tab:purple", "tab:gray")))  # in PHASES' order


def _phases_panel(ax, c: Comparison, n_sim: str, n_real: str) -> None:
    """Each side's mean phases stacked in a bar, with its learner cycle marked: the gap from the stack's end to
    the mark is the rest of the cycle (waiting for weights, a barrier, a core); a mark inside the stack means
    the phases overlap (adv*)."""
    by_quantity = {r.quantity: r for r in c.rows}
    rows = {name: by_quantity[phase_quantity(name)] for name in (*PHASES, CYCLE)}
    sides = [(n_sim + (": mean" if len(c.sims) > 1 else ""), lambda r: r.predicted),
             (f"{n_real}: mean", lambda r: r.mean)]
    for y, (_, value) in enumerate(sides):
        left = 0.0
        for name, color in PHASE_COLORS.items():
            width = value(rows[name])
            ax.barh(y, width, left=left, height=0.5, color=color, label=name if y == 0 else None)
            left += width
        ax.plot([value(rows[CYCLE])] * 2, [y - 0.35, y + 0.35], color="black", linewidth=2.5,
                label="learner cycle (push to push)" if y == 0 else None)
    ax.set_yticks(range(len(sides)), [label for label, _ in sides])
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.grid(axis="y", visible=False)
    ax.set(title="Where a gradient's time goes", xlabel="time per gradient, mean (ms)")
    ax.legend(loc="best")


def write(c: Comparison, out_dir: str | Path) -> list[Path]:
    """compare.md and the figure (PNG, SVG) in out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "compare.md"
    md.write_text(c.markdown())
    return [md, *figures.save(figure(c), out_dir, "compare")]
