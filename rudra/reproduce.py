"""`rudra reproduce`: the paper's five studies at a size that fits one small machine, as a table and figures.

  1 staleness  λ = 30, n-softsync, n ∈ {1, 2, 5, 15, 30}: ⟨σ⟩ ≈ n, the histograms, P(σ > 2n)
  2 lr         λ = 30, μ = 4, n ∈ {1, 15, 30} × {constant, mean-staleness, per-gradient} against one learner
               with batch μλ (the paper: 15/30-softsync with constant α₀ fail, modulated ones match it)
  3 mulambda   hardsync and 1-softsync at fixed μλ against fixed μ as λ grows: accuracy follows μλ
  4 runtime    speedup against λ ≤ 30 and time per epoch of hardsync, 1-softsync and async, with and
               without stragglers (the paper: async-style ≈ 50 % faster, 22–28× at 30 learners)
  5 arch       base, adv and adv* on a communication-heavy model

Accuracy is simulated in numerics mode (the real gradients in simulated order) on the shipped tasks,
digits/mlp and synthetic/small_cnn (cifar10_full on CIFAR-10 with --cifar10 PATH), timing and staleness on
the paper's CIFAR-10 cluster; where λ fits this machine (λ ≤ 4) the study also trains for real on digits.
Every group of points is one `rudra sweep` (rudra/sweep.py) into <out>/<study>/<group>/, with its run
directories and index.csv, so each point can be looked at, plotted or rerun alone; a rerun reruns nothing
that finished. The command writes <out>/results.csv and results.md (a row per point, then each finding
with the numbers that decide it) and the figures under <out>/figures/.
"""
from __future__ import annotations

import copy
import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import tomli_w
from tqdm import tqdm

from rudra.analysis import figures
from rudra.analysis.plot import plot
from rudra.analysis.trace import TraceError, read_csv
from rudra.sweep import Result, setting, sweep

# --- what runs -----------------------------------------------------------------------------------

# The paper's CIFAR-10 cluster (examples/paper_cifar10.toml), compute following μ: cifar10_full takes
# ≈ 5 ms at μ = 4 on one core; 10 Gb/s links and server NIC.
PAPER_CLUSTER = {"sample_seconds": 0.00125, "jitter_dist": "lognormal", "jitter_cv": 0.1, "latency": 5e-5,
                 "bandwidth": 1.25e9, "server_bandwidth": 1.25e9, "memory_bandwidth": 1e10}
PAPER_TASK = {"model": {"name": "cifar10_full"}, "data": {"name": "cifar10"}}
# Accuracy runs: homogeneous learners with jitter, so arrivals interleave as on a real cluster.
LEARNER_CLUSTER = {"sample_seconds": 0.001, "jitter_dist": "lognormal", "jitter_cv": 0.1, "latency": 1e-4}
STRAGGLERS = {"straggler_prob": 0.02, "straggler_slowdown": 4.0}


@dataclass(frozen=True)
class Task:
    """A model on a data set, with the base rate α₀ its studies use (see REPRODUCTION.md for why)."""

    name: str
    doc: dict
    lr: float
    epochs: float  # of an accuracy run at the default size


def tasks(cifar10: str | None) -> list[Task]:
    """The shipped tasks, and CIFAR-10 when the user has it."""
    out = [Task("digits-mlp", {"model": {"name": "mlp", "hidden": [64]}, "data": {"name": "digits"}}, 0.1, 15),
           Task("synthetic-small_cnn", {"model": {"name": "small_cnn", "width": 0.5},
                                        "data": {"name": "synthetic", "samples": 2000, "test_samples": 500,
                                                 "image_size": 16, "noise": 0.5}}, 0.05, 8)]
    if cifar10:
        out.append(Task("cifar10-cifar10_full", {"model": {"name": "cifar10_full"},
                                                 "data": {"name": "cifar10", "path": str(cifar10)},
                                                 "train": {"weight_decay": 0.004}}, 0.001, 140))
    return out


@dataclass(frozen=True)
class Size:
    """How long each kind of run goes (epochs) and which points run: --quick or the default."""

    name: str
    staleness_epochs: float   # of CIFAR-10 (50,000 samples), simulated
    accuracy_epochs: float    # at most, numerics and real accuracy runs (a task may need fewer)
    runtime_epochs: float
    arch_epochs: float
    real_epochs: float
    ns: tuple[int, ...] = (1, 2, 5, 15, 30)
    lr_ns: tuple[int, ...] = (1, 15, 30)
    policies: tuple[str, ...] = ("constant", "mean-staleness", "per-gradient")
    lambdas: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    runtime_lambdas: tuple[int, ...] = (1, 2, 4, 8, 16, 30)
    all_tasks: bool = True    # False: the first task only
    real: bool = True         # False: only the staleness study trains for real (one short run)


SIZES = {
    "default": Size("default", staleness_epochs=4, accuracy_epochs=140, runtime_epochs=0.5, arch_epochs=0.5,
                    real_epochs=15),
    "quick": Size("quick", staleness_epochs=0.2, accuracy_epochs=1, runtime_epochs=0.05, arch_epochs=0.05,
                  real_epochs=1, ns=(1, 5, 30), lr_ns=(30,), policies=("constant", "mean-staleness"),
                  lambdas=(1, 4), runtime_lambdas=(1, 4, 30), all_tasks=False, real=False),
}


@dataclass
class Group:
    """One sweep of a study: a base experiment, its grid, and how it runs (simulate, numerics or train)."""

    study: str
    name: str
    mode: str                  # sim | numerics | real
    doc: dict
    items: list[tuple[str, str]]
    task: str = "paper-cifar10"
    result: Result | None = field(default=None, repr=False)

    @property
    def folder(self) -> str:
        return f"{self.study}/{self.name}"


def experiment(*parts: dict) -> dict:
    """A TOML document from nested dicts, later ones overriding earlier ones key by key."""
    doc: dict = {"experiment": {"seed": 0}, "sim": {"trace": "summary", "speedup": False}}
    for part in parts:
        for section, table in part.items():
            doc.setdefault(section, {}).update(copy.deepcopy(table))
    return doc


def values(key: str, vs) -> tuple[str, str]:
    return "vary", f"{key}=" + ",".join(map(str, vs))


def zipped(key: str, vs) -> tuple[str, str]:
    return "zip", f"{key}=" + ",".join(map(str, vs))


def numerics(task: Task) -> dict:
    return experiment(task.doc, {"cluster": LEARNER_CLUSTER, "sim": {"numerics": True}})


def real(task: Task, epochs: float) -> dict:
    return experiment(task.doc, {"train": {"epochs": epochs, "lr": task.lr}, "runtime": {"trace": "summary"}})


def groups(size: Size, cifar10: str | None) -> list[Group]:
    """Every sweep of every study, in the order they run."""
    ts = tasks(cifar10)
    ts = ts if size.all_tasks else ts[:1]
    digits = ts[0]
    sync = {"train": {"momentum": 0.9}}
    out = [Group("staleness", "sim", "sim", experiment(PAPER_TASK, {"cluster": PAPER_CLUSTER, "protocol": {
        "name": "softsync", "learners": 30, "n": 1}, "train": {"minibatch": 4, "epochs": size.staleness_epochs}}),
        [values("protocol.n", size.ns)]),
        Group("staleness", "real", "real", experiment(real(digits, 2 if size.real else 0.5), {
            "protocol": {"name": "softsync", "learners": 4 if size.real else 2, "n": 1},
            "train": {"minibatch": 8}}),
            [values("protocol.n", (1, 2, 4) if size.real else (1, 2))], digits.name)]
    for task in ts:
        acc = {"train": {"epochs": min(task.epochs, size.accuracy_epochs), "lr": task.lr, **sync["train"]}}
        out += [
            Group("lr", f"{task.name}-single", "numerics", experiment(numerics(task), acc, {
                "protocol": {"name": "async", "learners": 1}, "train": {"minibatch": 120}}), [], task.name),
            Group("lr", f"{task.name}-numerics", "numerics", experiment(numerics(task), acc, {
                "protocol": {"name": "softsync", "learners": 30, "n": 1}, "train": {"minibatch": 4}}),
                [values("protocol.n", size.lr_ns), values("protocol.lr_policy", size.policies)], task.name),
            Group("mulambda", f"{task.name}-fixed-mulambda", "numerics", experiment(numerics(task), acc, {
                "protocol": {"name": "softsync", "learners": 1, "n": 1}}),
                [values("protocol.name", ("hardsync", "softsync")), zipped("protocol.learners", size.lambdas),
                 zipped("train.minibatch", [32 // l for l in size.lambdas])], task.name),
            Group("mulambda", f"{task.name}-fixed-mu", "numerics", experiment(numerics(task), acc, {
                "protocol": {"name": "softsync", "learners": 1, "n": 1}, "train": {"minibatch": 32}}),
                [values("protocol.name", ("hardsync", "softsync")), values("protocol.learners", size.lambdas)],
                task.name),
            Group("arch", f"{task.name}-numerics", "numerics", experiment(numerics(task), acc, {
                "protocol": {"name": "async", "learners": 30, "lr_policy": "mean-staleness"},
                "train": {"minibatch": 4}, "cluster": {"model_bytes": 2_000_000, "bandwidth": 1e8,
                                                       "server_bandwidth": 1e8}}),
                [zipped("protocol.architecture", ("base", "adv", "adv*")), zipped("protocol.shards", (1, 4, 4))],
                task.name),
        ]
    timing = experiment(PAPER_TASK, {"cluster": PAPER_CLUSTER, "protocol": {"name": "softsync", "n": 1},
                                     "train": {"minibatch": 4, "epochs": size.runtime_epochs},
                                     "sim": {"speedup": True}})
    grid = [values("protocol.name", ("hardsync", "softsync", "async")),
            values("protocol.learners", size.runtime_lambdas)]
    out += [Group("runtime", "sim", "sim", timing, grid),
            Group("runtime", "sim-stragglers", "sim", experiment(timing, {"cluster": STRAGGLERS}), grid),
            Group("arch", "sim", "sim", experiment({
                "model": {"name": "alexnet_style"}, "data": {"name": "synthetic", "samples": 20000, "image_size": 64},
                "protocol": {"name": "async", "learners": 18}, "train": {"minibatch": 16, "epochs": size.arch_epochs},
                "cluster": {"sample_seconds": 0.01, "jitter_dist": "lognormal", "jitter_cv": 0.1, "latency": 2e-4,
                            "bandwidth": 1.25e9, "server_bandwidth": 1.25e9, "memory_bandwidth": 1e10}}),
                [zipped("protocol.architecture", ("base", "adv", "adv*")), zipped("protocol.shards", (1, 4, 4))],
                "synthetic-alexnet_style")]
    if size.real:
        r = real(digits, size.real_epochs)
        out += [
            Group("lr", f"{digits.name}-real-single", "real", experiment(r, sync, {
                "protocol": {"name": "async", "learners": 1}, "train": {"minibatch": 16}}), [], digits.name),
            Group("lr", f"{digits.name}-real", "real", experiment(r, sync, {
                "protocol": {"name": "softsync", "learners": 4, "n": 1}, "train": {"minibatch": 4}}),
                [values("protocol.n", (1, 4)), values("protocol.lr_policy", size.policies)], digits.name),
            Group("mulambda", f"{digits.name}-real", "real", experiment(r, sync, {
                "protocol": {"name": "hardsync", "learners": 1}}),
                [zipped("protocol.learners", (1, 2, 4, 2, 4)), zipped("train.minibatch", (32, 16, 8, 32, 32))],
                digits.name),
            Group("runtime", f"{digits.name}-real", "real", experiment(real(digits, 3), {
                "protocol": {"name": "softsync", "n": 1}, "train": {"minibatch": 8}}),
                [values("protocol.name", ("hardsync", "async")), values("protocol.learners", (1, 2, 4))],
                digits.name),
            Group("arch", f"{digits.name}-real", "real", experiment(r, sync, {
                "protocol": {"name": "async", "learners": 4, "lr_policy": "mean-staleness"},
                "train": {"minibatch": 4}}),
                [zipped("protocol.architecture", ("base", "adv", "adv*")), zipped("protocol.shards", (1, 2, 2))],
                digits.name),
        ]
    return out


def run_group(g: Group, out: Path, progress: bool) -> None:
    """The group's sweep (its base experiment written beside it as <group>.toml)."""
    folder = out / g.folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    base = folder.parent / f"{g.name}.toml"
    base.write_text(tomli_w.dumps({**g.doc, "experiment": {**g.doc["experiment"], "name": g.name}}))
    items = g.items or [values("experiment.seed", (g.doc["experiment"]["seed"],))]
    g.result = sweep(base, sets=[], items=items, mode="train" if g.mode == "real" else "simulate", out=folder,
                     workers=None, dask=None, progress=progress)


# --- the table -------------------------------------------------------------------------------------

COLUMNS = ("study", "group", "task", "mode", "protocol", "learners", "minibatch", "lr_policy", "architecture",
           "shards", "status", "seconds_per_epoch", "staleness_mean", "p_sigma_over_2n", "test_error", "speedup",
           "run_dir")


def softness(doc: dict) -> int | None:
    """n of n-softsync, λ for async, None for hardsync."""
    name = setting(doc, "protocol.name")
    return setting(doc, "protocol.learners") if name == "async" else setting(doc, "protocol.n") \
        if name == "softsync" else None


def tail(run_dir: Path, n: int | None) -> float | None:
    """P(σ > 2n) from the run's exact staleness histogram."""
    if n is None or not (run_dir / "staleness.csv").is_file():
        return None
    hist = read_csv(run_dir / "staleness.csv")
    total = hist["count"].sum()
    return float(hist["count"][hist.staleness > 2 * n].sum() / total) if total else None


def rows(g: Group, out: Path) -> list[dict]:
    """A table row per point of the group's sweep."""
    result = []
    for point, outcome in zip(g.result.points, g.result.outcomes):
        doc, s = point.doc, outcome.summary or {}
        name, n = setting(doc, "protocol.name"), softness(doc)
        run_dir = out / g.folder / point.name
        result.append({
            "study": g.study, "group": g.name, "task": g.task, "mode": g.mode,
            "protocol": f"{n}-softsync" if name == "softsync" else name,
            "learners": setting(doc, "protocol.learners"), "minibatch": setting(doc, "train.minibatch"),
            "lr_policy": setting(doc, "protocol.lr_policy"), "architecture": setting(doc, "protocol.architecture"),
            "shards": setting(doc, "protocol.shards"), "status": outcome.status,
            "seconds_per_epoch": s.get("seconds_per_epoch"), "staleness_mean": (s.get("staleness") or {}).get("mean"),
            "p_sigma_over_2n": tail(run_dir, n) if outcome.status == "ok" else None,
            "test_error": s.get("test_error"), "speedup": (s.get("sim") or {}).get("speedup"),
            "run_dir": str(run_dir.relative_to(out)) if outcome.status == "ok" else outcome.reason,
        })
    return result


def write_table(table: pd.DataFrame, findings: list[Finding], out: Path, size: Size) -> None:
    """results.csv (every point) and results.md (the findings with their numbers, then every point)."""
    table.to_csv(out / "results.csv", index=False, quoting=csv.QUOTE_MINIMAL, float_format="%.6g")
    lines = [f"# Reproduction ({size.name} size)", "", "| finding | reproduced | numbers |", "|---|---|---|"]
    lines += [f"| {f.title} | {f.verdict} | {f.numbers} |" for f in findings]
    lines += ["", "## Every point", "", "| " + " | ".join(COLUMNS[:-1]) + " |",
              "|" + "---|" * (len(COLUMNS) - 1)]
    for r in table.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(getattr(r, c)) for c in COLUMNS[:-1]) + " |")
    (out / "results.md").write_text("\n".join(lines) + "\n")


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


# --- the findings ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One of the paper's findings as this run found it: yes / no / in part, and the numbers."""

    title: str
    verdict: str
    numbers: str


def pick(t: pd.DataFrame, **where) -> pd.DataFrame:
    """Rows of `t` that ran and match every column = value."""
    mask = t.status == "ok"
    for k, v in where.items():
        mask &= t[k] == v
    return t[mask]


EPS = 1e-9  # error fractions are k/test-set size: 2 points may come out a rounding error above 0.02


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def staleness_finding(t: pd.DataFrame) -> Finding:
    sim = pick(t, study="staleness", mode="sim")
    parts, ok = [], True
    for r in sim.itertuples():
        n = int(r.protocol.split("-")[0])
        ok &= abs(r.staleness_mean - n) <= 0.25 * n + 0.5 and r.p_sigma_over_2n < 1e-3
        parts.append(f"n={n}: ⟨σ⟩={r.staleness_mean:.2f}, P(σ>2n)={r.p_sigma_over_2n:.1e}")
    real = pick(t, study="staleness", mode="real")
    parts += [f"real λ={r.learners} {r.protocol}: ⟨σ⟩={r.staleness_mean:.2f}" for r in real.itertuples()]
    return Finding("1 staleness: ⟨σ⟩ ≈ n, P(σ > 2n) tiny", "yes" if ok and len(sim) else "no", "; ".join(parts))


def lr_finding(t: pd.DataFrame) -> Finding:
    parts, verdicts = [], []
    for mode, single_group in (("numerics", "single"), ("real", "real-single")):
        for task in pick(t, study="lr", mode=mode).task.unique():
            base = pick(t, study="lr", task=task, group=f"{task}-{single_group}")
            runs = pick(t, study="lr", task=task, group=f"{task}-{mode}" if mode == "real" else f"{task}-numerics")
            if base.empty or runs.empty:
                continue
            e1 = base.test_error.iloc[0]
            big = runs[runs.protocol != "1-softsync"]
            const, mod = big[big.lr_policy == "constant"], big[big.lr_policy != "constant"]
            worse = bool(len(const)) and (const.test_error >= e1 + 0.05).all()  # "clearly worse": 5 points
            close = bool(len(mod)) and (mod.test_error <= e1 + 0.02 + EPS).all()  # "within 2 points"
            verdicts.append(worse and close)
            parts.append(f"{task} ({mode}): single {pct(e1)}; constant "
                         + ", ".join(f"{r.protocol} {pct(r.test_error)}" for r in const.itertuples())
                         + "; modulated " + ", ".join(f"{r.protocol} {r.lr_policy} {pct(r.test_error)}"
                                                      for r in mod.itertuples()))
    return Finding("2 LR modulation: large n with constant α₀ fails, modulated matches one learner",
                   _verdict(verdicts), "; ".join(parts))


def mulambda_finding(t: pd.DataFrame) -> Finding:
    parts, verdicts = [], []
    for task in pick(t, study="mulambda", mode="numerics").task.unique():
        for protocol in ("hardsync", "1-softsync"):
            fixed = pick(t, study="mulambda", task=task, group=f"{task}-fixed-mulambda", protocol=protocol)
            grow = pick(t, study="mulambda", task=task, group=f"{task}-fixed-mu", protocol=protocol)
            if fixed.empty or grow.empty:
                continue
            spread = fixed.test_error.max() - fixed.test_error.min()
            rise = grow.sort_values("learners").test_error.iloc[-1] - grow.sort_values("learners").test_error.iloc[0]
            verdicts.append(rise > spread + 0.02)
            parts.append(f"{task} {protocol}: fixed μλ error {pct(fixed.test_error.min())}–"
                         f"{pct(fixed.test_error.max())}, fixed μ rises {100 * rise:+.1f} points to λ="
                         f"{grow.learners.max()}")
    return Finding("3 accuracy follows μλ", _verdict(verdicts), "; ".join(parts))


def runtime_finding(t: pd.DataFrame) -> Finding:
    parts, verdicts = [], []
    for group in ("sim", "sim-stragglers"):
        sim = pick(t, study="runtime", group=group)
        if sim.empty:
            continue
        top = sim.learners.max()
        at = sim[sim.learners == top].set_index("protocol")
        hard = at.seconds_per_epoch.get("hardsync")
        fast = min(at.seconds_per_epoch.get("async", math.inf), at.seconds_per_epoch.get("1-softsync", math.inf))
        best = at.speedup.max()
        verdicts += [hard / fast >= 1.3, 22 <= best <= 28]
        parts.append(f"{group} λ={top}: speedup " + ", ".join(f"{p} {s:.1f}×" for p, s in at.speedup.items())
                     + f"; hardsync s/epoch ÷ fastest async-style = {hard / fast:.2f}")
    real = pick(t, study="runtime", mode="real")
    if len(real):
        parts.append("real (this machine) s/epoch: " + ", ".join(
            f"{r.protocol} λ={r.learners} {r.seconds_per_epoch:.3f}" for r in real.itertuples()))
    return Finding("4 runtime: async-style ≈ 50% faster than hardsync; 22–28× at 30", _verdict(verdicts),
                   "; ".join(parts))


def arch_finding(t: pd.DataFrame) -> Finding:
    parts, verdicts = [], []
    for (task, mode), runs in pick(t, study="arch").groupby(["task", "mode"], sort=False):
        runs = runs.set_index("architecture")
        spe, sig = runs.seconds_per_epoch, runs.staleness_mean
        if mode == "sim":  # adv faster than base; adv* faster still (overlap), at more staleness
            verdicts += [spe["adv"] < spe["base"], spe["adv*"] < 0.99 * spe["adv"] and sig["adv*"] > sig["adv"]]
        parts.append(f"{task} ({mode}): " + ", ".join(
            f"{a} {spe[a]:.3g} s/epoch ⟨σ⟩={sig[a]:.1f}" + (f" err {pct(runs.test_error[a])}"
                                                         if pd.notna(runs.test_error[a]) else "")
            for a in runs.index))
    return Finding("5 architectures: adv beats base, adv* overlaps more at more staleness", _verdict(verdicts),
                   "; ".join(parts))


def _verdict(flags: list[bool]) -> str:
    if not flags:
        return "not run"
    return "yes" if all(flags) else "no" if not any(flags) else "in part"


FINDINGS: tuple[Callable[[pd.DataFrame], Finding], ...] = (staleness_finding, lr_finding, mulambda_finding,
                                                           runtime_finding, arch_finding)


# --- the figures ---------------------------------------------------------------------------------------

def draw_figures(gs: list[Group], table: pd.DataFrame, out: Path) -> list[Path]:
    """analysis/plot.py's figures per group, and the final-error-against-λ figure of the μλ study."""
    figs = out / "figures"
    written = []
    kinds = {"staleness": "staleness", "lr": "error-vs-epoch", "runtime": "speedup", "arch": "error-vs-time"}
    for g in gs:
        kind = kinds.get(g.study)
        if kind is None or (g.study == "arch" and g.mode == "sim") or g.name.endswith("single"):
            continue
        paths = [out / g.folder]
        single = next((h for h in gs if h.study == "lr" and h.task == g.task and h.name.endswith("single")
                       and h.mode == g.mode), None)
        if g.study == "lr" and single is not None:
            paths.append(out / single.folder)
        try:
            drawn = plot(paths, kind, figs / f"{g.study}-{g.name}")
        except TraceError:  # no point of the group finished: its rows say why
            continue
        for path in drawn:
            target = figs / f"{g.study}-{g.name}{path.suffix}"
            path.replace(target)
            written.append(target)
        (figs / f"{g.study}-{g.name}").rmdir()
    mu = pick(table, study="mulambda")
    if len(mu):
        written += figures.save(mulambda_figure(mu), figs, "mulambda")
    return written


@figures.styled
def mulambda_figure(mu: pd.DataFrame):
    """Final test error against λ: fixed μλ against fixed μ, per protocol and task."""
    fig, ax = figures.figure(8.5, 4.8)
    for (task, group, protocol, mode), r in mu.groupby(["task", "group", "protocol", "mode"], sort=False):
        r = r.sort_values("learners")
        fixed = "fixed μλ" if group.endswith("mulambda") else "fixed μ" if group.endswith("mu") else \
            "real (μλ = 32 and μ = 32)"
        style = figures.KIND["real" if mode == "real" else "sim"]
        ax.plot(r.learners, 100 * r.test_error, marker=style["marker"], fillstyle=style["fillstyle"],
                linestyle="-" if "μλ" in fixed else "--", label=f"{task} {protocol}, {fixed}")
    ax.set_xscale("log", base=2)
    figures.plain_log_ticks(ax.xaxis, 2)
    ax.set(title="Final test error against learners: fixed μλ = 32 against fixed μ = 32",
           xlabel="learners λ", ylabel="final test error (%)")
    ax.set_ylim(bottom=0)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2)
    return fig


# --- the command ------------------------------------------------------------------------------------------

def reproduce(out: str | Path, *, quick: bool = False, cifar10: str | None = None, progress: bool = False) -> dict:
    """Run every study into `out`; the findings and where the table and figures are."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = SIZES["quick" if quick else "default"]
    gs = groups(size, cifar10)
    with tqdm(total=len(gs), unit="sweep", desc="reproduce", disable=not progress, dynamic_ncols=True) as bar:
        for g in gs:
            bar.set_postfix_str(g.folder)
            run_group(g, out, progress=False)
            bar.update()
    table = pd.DataFrame([r for g in gs for r in rows(g, out)], columns=COLUMNS)
    findings = [f(table) for f in FINDINGS]
    write_table(table, findings, out, size)
    written = draw_figures(gs, table, out)
    return {"findings": findings, "table": [out / "results.md", out / "results.csv"], "figures": written}
