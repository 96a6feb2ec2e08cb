"""Timing prediction held against measurement: the simulator on a calibrated profile against real runs here.

For each task of benchmarks/fidelity.toml (mlp/digits for 12 epochs, small_cnn/synthetic for 3), `runs` times:
calibrate this machine for the task's model and data at the grid's largest process count (rudra/calibrate.py),
sweep the grid (λ ∈ {1, 2, 4} × μ ∈ {8, 32} × hardsync, 1-softsync, async on Rudra-base, plus adv with 2 shards and
adv* at λ = 4) with rudra/sweep.py simulated on that profile, once per simulator seed (the plan's sim_seeds: a
prediction is their mean, since one seed's is a sample of the simulator's own randomness), then train every point
for real. Each real run is predicted from the calibration taken just before it: this machine's speed drifts by
10–30 % within an hour (a minibatch that took 1.41 ms at one calibration took 1.62–1.83 ms minutes later), so a
calibration minutes old predicts the machine it measured, not the one the run met. The plan's
`calibrate_each_run = false` makes one calibration serve every run, as a user with one profile would. Each pair
goes through `rudra compare` (rudra.analysis.compare): per point, the predictions' and the real runs' mean and
min–max, the error (the mean of each real run's relative error against its own prediction) and whether the mean
prediction lies inside the real runs' min–max, ⟨σ⟩, and the total variation distance of the staleness
distributions (each side pooled), and the learner cycle's error split into what compute, exchange + push → applied
and the rest of the cycle add to it (rudra.analysis.phases), which names the part of the model an error comes from,
the CPU per gradient the model charged against the real runs' (rudra.analysis.cpu: a cost misread, or a wait
mispredicted with the costs right), the quantiles of a learner's gap from a compute's end to its next compute
(the waits' shape, which the means hide), shard 0's push → applied in its three parts (received, queued for the
message loop, served: which wait is off), a learner's pulls per gradient where they are fewer than one (adv*: the
fewer, the staler), and the error by task and λ for each calibration and its run, which
tells a model's error (every column) from one calibration's misreading (one column). The λ = 1 points are the drift
control: calibrate measures that very setting, so their error is what the machine changed between calibration and
run. Beside each point: the most CPU time a hypervisor took during one of its real runs (run.json runtime.stolen),
which tells a run that met a slower machine than its calibration from a model's error. Targets (issue 12): median
|error| of time per epoch ≤ 5 %, worst ≤ 15 %, ⟨σ⟩ within 10 % and TV ≤ 0.1 at every point. Writes
<out>/fidelity.csv and fidelity.md (the table and the verdict); <out>/profiles/<task>-<r>.toml; the sweeps
under <out>/<task>/ (sim-<r>, sim-<r>-seed<k> for the further seeds, real-<r>). Rerunning with the same --out
reruns nothing that finished and measures no profile that is there: to hold a changed simulator against the same
real runs and calibrations, delete the sim-* folders and rerun.
Run: python benchmarks/fidelity.py [--out DIR] [--profile DIR]   (≈ 40 minutes on a quiet 2-core machine)
     python benchmarks/fidelity.py --quick                          (a smoke check: 6 points, ≈ 2-3 minutes)
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from rudra.analysis.compare import (PULLS, compare, cpu_quantity, gap_quantity, phase_quantity,
                                    push_path_quantity, staleness_distribution, tv_distance)
from rudra.analysis.cpu import PARTS as CPU_PARTS
from rudra.analysis.phases import CYCLE, GAP_QUANTILES
from rudra.calibrate import calibrate
from rudra.cli import progress_wanted
from rudra.config import ConfigError, load
from rudra.protocol.trace import PUSH_PATH
from rudra.sweep import Result, report, sweep

PLAN = Path(__file__).with_suffix(".toml")
GRID_KEYS = {"set", "vary", "zip"}
TARGET_KEYS = {"epoch_error_median", "epoch_error_worst", "sigma_error", "tv"}
# table column -> the quantity of `rudra compare` it shows: every per-point number is compare's
QUANTITIES = {"s/epoch": "time per epoch", "grad/s": "gradients/s", "<σ>": "⟨σ⟩"}
# the parts a learner cycle's error is split into: compare's phases each sums, and the rest of the cycle
CYCLE_PARTS = {"compute": ("compute",), "exchange + push → applied": ("exchange", "push → applied"), "rest": ()}


def read_plan(path: Path, quick: bool) -> dict:
    """The plan: tasks (absolute paths), calibrate sets, runs, the grid ([quick]'s with --quick) and the
    targets; SystemExit with one line naming what is wrong."""
    def bad(what: str) -> SystemExit:
        return SystemExit(f"{path}: {what}")

    try:
        plan = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise bad(f"cannot be read as TOML ({e})") from None
    unknown = sorted(set(plan) - {"tasks", "calibrate", "calibrate_each_run", "runs", "sim_seeds", "grid", "targets",
                                  "quick"})
    if unknown:
        raise bad(f"{unknown[0]}: allowed tasks, calibrate, calibrate_each_run, runs, sim_seeds, [grid], [targets], "
                  "[quick]")
    seeds = plan.get("sim_seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise bad(f"sim_seeds = {seeds!r}: allowed an integer >= 1")
    each = plan.get("calibrate_each_run", True)
    if not isinstance(each, bool):
        raise bad(f"calibrate_each_run = {each!r}: allowed true or false")
    name = "quick" if quick else "grid"
    grid = dict(plan.get(name, {}))
    runs = grid.pop("runs", None) if quick else plan.get("runs")
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise bad(f"{'quick.' if quick else ''}runs = {runs!r}: allowed an integer >= 1")
    if set(grid) - GRID_KEYS:
        raise bad(f"{name}.{sorted(set(grid) - GRID_KEYS)[0]}: allowed {', '.join(sorted(GRID_KEYS))}"
                  f"{', runs' if quick else ''}")
    for key, value in [("tasks", plan.get("tasks")), ("calibrate", plan.get("calibrate", [])),
                       *((f"{name}.{k}", grid.get(k, [])) for k in sorted(GRID_KEYS))]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"{key} = {value!r}: allowed a list of strings (rudra sweep's KEY=VALUE items)")
    tasks = [(path.parent / t).resolve() for t in plan["tasks"]]
    if not tasks or any(not t.is_file() for t in tasks):
        raise bad(f"tasks = {plan['tasks']!r}: allowed a non-empty list of experiment files (relative to the plan)")
    targets = plan.get("targets", {})
    if set(targets) != TARGET_KEYS or not all(isinstance(v, (int, float)) and v > 0 for v in targets.values()):
        raise bad(f"[targets] = {targets!r}: allowed {', '.join(sorted(TARGET_KEYS))}, each a number > 0")
    return {"tasks": tasks, "calibrate": plan.get("calibrate", []), "each": each, "runs": runs, "targets": targets,
            "seeds": 1 if quick else seeds,
            "sets": grid.get("set", []),
            "items": [("vary", v) for v in grid.get("vary", [])] + [("zip", z) for z in grid.get("zip", [])]}


def profile_for(task: Path, r: int, plan: dict, out: Path, given: Path | None, quick: bool) -> Path:
    """The calibration profile that real run `r` of `task` is predicted from: taken from `given` (a folder
    holding <task>-<r>.toml or <task>.toml), kept from an earlier run into this `out`, or measured now."""
    if given is not None:
        for name in (f"{task.stem}-{r}.toml", f"{task.stem}.toml"):
            if (given / name).is_file():
                return given / name
        raise SystemExit(f"--profile {given}: neither {task.stem}-{r}.toml nor {task.stem}.toml there; allowed a "
                         "folder of profiles named after the experiment files (an earlier run's <out>/profiles)")
    path = out / "profiles" / f"{task.stem}-{r}.toml"
    if path.is_file():
        print(f"{task.name}: calibration {r} kept from an earlier run: {path}", flush=True)
        return path
    exp = load(task, plan["calibrate"])
    print(f"calibrating this machine for {task.name} ({exp.model.name}/{exp.data.name}, "
          f"{exp.protocol.learners} learners + {exp.protocol.shards} shards{', quick' if quick else ''}), "
          f"for real run {r}", flush=True)
    lines = calibrate(exp, path, quick=quick, step=lambda what: print(f"  measuring {what}", file=sys.stderr))
    print("\n".join(f"  {line}" for line in lines), flush=True)
    return path


def run_task(task: Path, plan: dict, out: Path, given: Path | None, quick: bool) -> list[tuple[list[Result], Result]]:
    """(simulated grids, real grid) for each of the `runs` real runs: each calibrated just before it (or all on
    the first calibration), the grid simulated on that profile with each of `seeds` simulator seeds (the first
    is the experiment's own), then trained for real (rudra sweep)."""
    def one(mode: str, folder: str, profile: Path, sets: list[str] = ()) -> Result:
        result = sweep(task, sets=[*plan["sets"], *sets], items=plan["items"], mode=mode,
                       out=out / task.stem / folder, workers=None, dask=None, progress=progress_wanted(),
                       profile=str(profile))
        print(report(result), flush=True)
        return result

    seed = load(task).experiment.seed
    sims: dict[Path, list[Result]] = {}   # profile -> the grid simulated on it, once per simulator seed
    pairs = []
    for r in range(1, plan["runs"] + 1):
        profile = profile_for(task, r if plan["each"] else 1, plan, out, given, quick)
        if profile not in sims:
            i = len(sims) + 1
            print(f"\n{task.name}: predicting every point on {profile}"
                  + (f", with {plan['seeds']} simulator seeds" if plan["seeds"] > 1 else ""), flush=True)
            sims[profile] = [one("simulate", f"sim-{i}" + (f"-seed{seed + k}" if k else ""), profile,
                                 [f"experiment.seed={seed + k}"] if k else [])
                             for k in range(plan["seeds"])]
        print(f"{task.name}: training every point for real, run {r} of {plan['runs']}", flush=True)
        pairs.append((sims[profile], one("train", f"real-{r}", profile)))
    return pairs


def point_rows(pairs: list[tuple[list[Result], Result]]) -> list[dict]:
    """One table row per point that ran everywhere: labels, then compare's numbers over the (prediction, real
    run) pairs, where a prediction is the mean over the simulator seeds: the means, the min–max, the mean of the
    paired errors, TV with each side pooled, and the seeds' own spread."""
    rows = []
    for i, point in enumerate(pairs[0][1].points):
        if any(run.outcomes[i].status != "ok" for sims, real in pairs for run in (*sims, real)):
            continue  # sweep's report has said why
        exp = point.exp
        sims = [[sim.folder / point.name for sim in seeded] for seeded, _ in pairs]
        reals = [real.folder / point.name for _, real in pairs]
        paired = [{row.quantity: row for row in compare(seeded[0], [r], also=seeded[1:]).rows}
                  for seeded, r in zip(sims, reals)]
        pooled = compare(sims[0][0], reals)   # the real runs pooled, and the largest TV between two of them
        protocol = f"{exp.protocol.n}-softsync" if exp.protocol.name == "softsync" else exp.protocol.name
        row = {"task": f"{exp.model.name}/{exp.data.name}", "protocol": protocol,
               "arch": exp.protocol.architecture, "λ": exp.protocol.learners, "μ": exp.train.minibatch}
        for column, quantity in QUANTITIES.items():
            predicted = [q[quantity].predicted for q in paired]
            measured = [q[quantity].mean for q in paired]
            errors = [q[quantity].error for q in paired]
            if column == "s/epoch":
                row["s/epoch seed spread"] = float(np.mean([_spread(q[quantity].predictions) for q in paired]))
                row |= {f"s/epoch error {r}": e for r, e in enumerate(errors, start=1)}
            row |= {f"{column} sim": np.mean(predicted), f"{column} sim min": min(predicted),
                    f"{column} sim max": max(predicted), f"{column} real": np.mean(measured),
                    f"{column} min": min(measured), f"{column} max": max(measured),
                    f"{column} error": None if None in errors else float(np.mean(errors))}
        row["s/epoch inside"] = row["s/epoch min"] <= row["s/epoch sim"] <= row["s/epoch max"]
        row |= cycle_parts(paired)
        row |= cpu_errors(paired)
        row |= side_by_side(paired, "gap", {name: gap_quantity(name) for name in GAP_QUANTILES})
        row |= side_by_side(paired, "path", {part: push_path_quantity(part) for part in PUSH_PATH})
        row |= side_by_side(paired, "pulls", {"per gradient": PULLS})
        every = dict.fromkeys(d for seeded in sims for d in seeded)
        row |= {"TV": tv_distance(staleness_distribution(*every), pooled.sigma_real),
                "TV real-real": pooled.tv_between_real,
                "stolen": max((x for x in pooled.stolen if x is not None), default=np.nan),
                "sim dirs": " ".join(map(str, dict.fromkeys(seeded[0] for seeded in sims))), "sim seeds": len(sims[0]),
                "real dirs": " ".join(map(str, reals))}
        rows.append(row)
    return rows


def cycle_parts(paired: list[dict]) -> dict:
    """The learner cycle's error (sim − real, over the real cycle) split into what each phase adds to it, mean
    over the pairs; empty without full traces. Exchange and push → applied go together: the simulator's exchange
    also holds taking in the weights, which a real learner does before its compute starts."""
    cycle = phase_quantity(CYCLE)
    if cycle not in paired[0]:
        return {}
    parts = {name: [] for name in CYCLE_PARTS}
    for q in paired:
        real = q[cycle].mean
        diff = {name: sum(q[phase_quantity(p)].predicted - q[phase_quantity(p)].mean for p in phases) / real
                for name, phases in CYCLE_PARTS.items() if phases}
        diff["rest"] = (q[cycle].predicted - real) / real - sum(diff.values())
        for name in parts:
            parts[name].append(diff[name])
    return {"cycle error": float(np.mean([sum(v) for v in zip(*parts.values())])),
            **{f"cycle part {name}": float(np.mean(v)) for name, v in parts.items()}}


def cpu_errors(paired: list[dict]) -> dict:
    """The CPU per gradient the model charged against each real run's, by part, mean error over the pairs; empty
    where a side counted none."""
    if cpu_quantity(CPU_PARTS[0]) not in paired[0]:
        return {}
    return {f"cpu {part} error": float(np.mean([q[cpu_quantity(part)].error for q in paired])) for part in CPU_PARTS}


def side_by_side(paired: list[dict], prefix: str, quantity: dict[str, str]) -> dict:
    """Each quantity (name: compare's quantity), predicted and measured, mean over the pairs, as the columns
    "<prefix> <name> sim" and "... real"; empty where compare has no row for them (no full traces)."""
    if next(iter(quantity.values())) not in paired[0]:
        return {}
    return {f"{prefix} {name} {side}": float(np.mean([getattr(q[row], field) for q in paired]))
            for name, row in quantity.items() for side, field in (("sim", "predicted"), ("real", "mean"))}


def _spread(predictions: tuple[float, ...]) -> float:
    """(max − min) ÷ mean of the seeds' predictions; 0 for one seed (compare keeps no list then)."""
    return (max(predictions) - min(predictions)) / float(np.mean(predictions)) if predictions else 0.0


def shown(t: pd.DataFrame) -> pd.DataFrame:
    """The table as text cells: values to 4 digits, errors as signed percentages, time per epoch's spread as
    min–max (the CSV holds every spread)."""
    s = t[["task", "protocol", "arch", "λ", "μ"]].astype(str)
    for column in QUANTITIES:
        s[f"{column} sim"] = t[f"{column} sim"].map(_num)
        s[f"{column} real"] = t[f"{column} real"].map(_num)
        if column == "s/epoch":
            s["s/epoch min–max"] = [f"{_num(lo)}–{_num(hi)}" for lo, hi in zip(t["s/epoch min"], t["s/epoch max"])]
        s[f"{column} error"] = t[f"{column} error"].map(_pct)
        if column == "s/epoch":
            s["inside"] = t["s/epoch inside"].map({True: "yes", False: "no"})
    for column in ("TV", "TV real-real"):
        s[column] = t[column].map(lambda v: f"{v:.3f}")
    s["stolen"] = t["stolen"].map(lambda v: "n/a" if pd.isna(v) else f"{100 * v:.1f}%")
    return s


def _num(v: float) -> str:
    return f"{v:.4g}"


def _pct(v: float | None) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{100 * v:+.1f}%"


def verdict(t: pd.DataFrame, targets: dict) -> list[str]:
    """The figures against the targets, one line each."""
    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    n = len(t)
    err = t["s/epoch error"].abs()
    worst = t.loc[err.idxmax()]
    rate = t["grad/s error"].abs()
    sigma_ok = t["<σ> error"].map(lambda e: e is not None and not pd.isna(e) and abs(e) <= targets["sigma_error"])
    tv_ok = t["TV"] <= targets["tv"]
    noisy = int((~tv_ok & (t["TV real-real"] > targets["tv"])).sum())  # misses where real runs differ as much
    spread = (t["s/epoch sim max"] - t["s/epoch sim min"]) / t["s/epoch sim"]
    return [
        f"time per epoch, |error| over {n} points: median {100 * err.median():.1f}% (target <= "
        f"{100 * targets['epoch_error_median']:g}%: {met(err.median() <= targets['epoch_error_median'])}), worst "
        f"{100 * err.max():.1f}% at {worst.task} {worst.protocol} {worst.arch} λ={worst['λ']} μ={worst['μ']} "
        f"(target <= {100 * targets['epoch_error_worst']:g}%: {met(err.max() <= targets['epoch_error_worst'])})",
        f"time per epoch, prediction inside the real runs' min–max: {int(t['s/epoch inside'].sum())}/{n}",
        f"gradients/s, |error|: median {100 * rate.median():.1f}%, worst {100 * rate.max():.1f}%",
        f"<σ> within {100 * targets['sigma_error']:g}%: {int(sigma_ok.sum())}/{n} points = "
        f"{100 * sigma_ok.mean():.0f}% (target: all, {met(sigma_ok.all())})",
        f"staleness TV <= {targets['tv']:g}: {int(tv_ok.sum())}/{n} points = {100 * tv_ok.mean():.0f}% "
        f"(target: all, {met(tv_ok.all())}); the largest TV between two real runs of one point: "
        f"{t['TV real-real'].max():.3f}; at {noisy} of the {n - int(tv_ok.sum())} points that miss, two real runs "
        f"are themselves more than {targets['tv']:g} apart",
        "signed error of time per epoch by task and λ (mean, min to max): " + "; ".join(
            f"{task} " + ", ".join(f"λ={lam} {_pct(e.mean())} ({_pct(e.min())} to {_pct(e.max())})"
                                   for lam, e in by_task.groupby("λ")["s/epoch error"])
            for task, by_task in t.groupby("task", sort=False))
        + (" (λ = 1 is what calibrate measures: its error is what the machine changed between calibration and run, "
           "the drift control)" if (t["λ"] == 1).any() else ""),
        *([stolen_line(t)] if t["stolen"].notna().any() else []),
        *([cycle_line(t)] if "cycle error" in t else []),
        *([cpu_line(t)] if f"cpu {CPU_PARTS[0]} error" in t else []),
        *([gap_line(t)] if f"gap {next(iter(GAP_QUANTILES))} sim" in t else []),
        *([path_line(t)] if f"path {next(iter(PUSH_PATH))} sim" in t else []),
        *([pulls_line(t)] if len(fewer_pulls(t)) else []),
        *([by_run_line(t)] if "s/epoch error 2" in t else []),
        *([drift_line(t)] if (t["λ"] == 1).any() and (t["λ"] > 1).any() else []),
        *([f"the calibrations' own spread (predicted time per epoch, max − min ÷ mean, over the calibrations a "
           f"point was predicted from): median {100 * spread.median():.1f}%, largest {100 * spread.max():.1f}%"]
          if recalibrated(t) else []),
        *([f"the simulator's own spread (predicted time per epoch over {t['sim seeds'].iloc[0]} seeds, max − min ÷ "
           f"mean; each prediction above is their mean): median {100 * t['s/epoch seed spread'].median():.1f}%, "
           f"largest {100 * t['s/epoch seed spread'].max():.1f}%"] if t["sim seeds"].iloc[0] > 1 else []),
    ]


def stolen_line(t: pd.DataFrame) -> str:
    """How much CPU a hypervisor took from this machine while the real runs ran, and the errors where it took
    most: a run that lost a share of it met a machine that much slower than its calibration measured."""
    top = t.loc[t["stolen"].idxmax()]
    return (f"CPU time a hypervisor took during the real runs (the most of a point's runs): median "
            f"{100 * t['stolen'].median():.1f}%, largest {100 * top['stolen']:.1f}% at {top.task} {top.protocol} "
            f"{top.arch} λ={top['λ']} μ={top['μ']} (its error {_pct(top['s/epoch error'])})")


def cycle_line(t: pd.DataFrame) -> str:
    """Where the time per epoch error comes from: the learner cycle's error by task and λ, split by phase."""
    def part(column: str, e: pd.Series) -> str:
        return f"{column.removeprefix('cycle part ')} {_pct(e.mean())}"

    return ("learner cycle (push to push), signed error by task and λ (mean), and what each phase adds to it (sim − "
            "real, over the real cycle): " + "; ".join(
                f"{task} λ={lam} {_pct(g['cycle error'].mean())} = "
                + " + ".join(part(f"cycle part {name}", g[f"cycle part {name}"]) for name in CYCLE_PARTS)
                for (task, lam), g in t.groupby(["task", "λ"], sort=False)))


def cpu_line(t: pd.DataFrame) -> str:
    """The CPU per gradient the model charged against the real runs' by task, λ and architecture: a time error
    with the CPU right is in the model of sharing and waking, one with the CPU off as much is a cost misread."""
    return ("CPU per gradient, the model's against the real runs', signed error by task, λ and architecture (mean; "
            + ", ".join(CPU_PARTS) + "): " + "; ".join(
                f"{task} λ={lam} {arch} " + " ".join(_pct(g[f"cpu {part} error"].mean()) for part in CPU_PARTS)
                for (task, lam, arch), g in t.groupby(["task", "λ", "arch"], sort=False)))


def gap_line(t: pd.DataFrame) -> str:
    """The shape of the waits: a learner's gap from a compute's end to its next compute's start, quantiles sim
    against real by task and λ (median over the points). Two shapes can have one mean and extrapolate apart."""
    return ("a learner's gap from a compute's end to its next one's start (the waits for weights and for a core), "
            "sim/real in ms by task and λ (median over points): " + sides(t, "gap", GAP_QUANTILES, ["task", "λ"]))


def path_line(t: pd.DataFrame) -> str:
    """Push → applied as shard 0 timed it, each part sim against real by task, λ and protocol (median over the
    points): which of the receive thread's wake, the wait for the message loop or the serving is off."""
    return ("push → applied as shard 0 timed it (received: on the way and the receive thread's wake; queued: for "
            "the message loop; served: to applied, a batch filling up included), sim/real in ms by task, λ and "
            "protocol (median over points): " + sides(t, "path", PUSH_PATH, ["task", "λ", "protocol"]))


def pulls_line(t: pd.DataFrame) -> str:
    """How often a learner pulls, sim against real by task, λ and architecture (median over the points): under
    adv* a learner computes on until fresh weights come, so a pull that comes back sooner than a real one means
    more pulls for its shards to answer and fresher weights (a smaller ⟨σ⟩)."""
    return ("pulls (a learner's distinct t_pull over its gradients), sim/real by task, λ and architecture where "
            "they are fewer than the gradients (median over points): "
            + sides(fewer_pulls(t), "pulls", ["per gradient"], ["task", "λ", "arch"]))


def fewer_pulls(t: pd.DataFrame) -> pd.DataFrame:
    """The points where a side pulls less often than once per gradient (none without full traces)."""
    if "pulls per gradient sim" not in t:
        return t.iloc[:0]
    return t[(t["pulls per gradient sim"] < 1) | (t["pulls per gradient real"] < 1)]


def sides(t: pd.DataFrame, prefix: str, names, by: list[str]) -> str:
    """"sim/real" of each of `names` (side_by_side's columns, in their own unit: ms for the gap and the path), the
    median over the points of each group of `by` (task, λ, then any others)."""
    groups = []
    for (task, lam, *rest), g in t.groupby(by, sort=False):
        cells = [f"{name} {g[f'{prefix} {name} sim'].median():.2f}/{g[f'{prefix} {name} real'].median():.2f}"
                 for name in names]
        groups.append(" ".join([task, f"λ={lam}", *map(str, rest), *cells]))
    return "; ".join(groups)


def run_columns(t: pd.DataFrame) -> list[str]:
    """The columns of each real run's error of time per epoch against its own prediction, run 1 first."""
    return [c for c in t.columns if c.startswith("s/epoch error ") and c.removeprefix("s/epoch error ").isdigit()]


def by_run_line(t: pd.DataFrame) -> str:
    """The signed error of time per epoch by task and λ for each real run against its own prediction: a model
    error shows in every column, one calibration's misreading (or one run's hour) in one."""
    runs = run_columns(t)
    what = "calibration and the run after it" if recalibrated(t) else "real run"
    return (f"signed error of time per epoch by task and λ (mean) for each {what}, "
            f"{', '.join(r.split()[-1] for r in runs)}: " + "; ".join(
                f"{task} λ={lam} " + " ".join(_pct(g[r].mean()) for r in runs)
                for (task, lam), g in t.groupby(["task", "λ"], sort=False)))


def drift_line(t: pd.DataFrame) -> str:
    """The λ > 1 points' error with their drift control's taken out: each real run's (1 + error) over the mean
    (1 + error) of the λ = 1 points of its task, μ and run (so of its calibration), the mean over runs. What the
    machine changed between a calibration and its run moves both alike; what is left is the model's λ trend, or
    the machine's drift within a pass. A diagnostic only: the targets are judged on the errors themselves."""
    runs = run_columns(t)
    parts = []
    for _, g in t.groupby(["task", "μ"], sort=False):
        control = 1 + g.loc[g["λ"] == 1, runs].mean()
        above = g[g["λ"] > 1]
        parts.append(above[["task", "λ"]].assign(rel=((1 + above[runs]) / control - 1).mean(axis=1)))
    d = pd.concat(parts)
    return (f"time per epoch of the {len(d)} λ > 1 points over their drift control (each run's 1 + error ÷ that of "
            f"the λ = 1 points of its task, μ and {'calibration' if recalibrated(t) else 'real run'}; a diagnostic, "
            "not the targets' figure): |error| "
            f"median {100 * d['rel'].abs().median():.1f}%, worst {100 * d['rel'].abs().max():.1f}%; by task and λ "
            "(mean, min to max): " + "; ".join(
                f"{task} λ={lam} {_pct(g['rel'].mean())} ({_pct(g['rel'].min())} to {_pct(g['rel'].max())})"
                for (task, lam), g in d.groupby(["task", "λ"], sort=False)))


def recalibrated(t: pd.DataFrame) -> bool:
    """Some point was predicted from more than one calibration."""
    return bool((t["sim dirs"].str.count(" ") > 0).any())


def pairing(t: pd.DataFrame, runs: int) -> str:
    """What each point's numbers hold, in words."""
    if recalibrated(t):
        return f"{runs} real runs, each against a prediction from a calibration taken just before it"
    return f"{runs} real run(s) against a prediction from one calibration"


def markdown(s: pd.DataFrame) -> str:
    """A text table as a markdown table (labels left-aligned, numbers right-aligned)."""
    align = ["---" if c in ("task", "protocol", "arch") else "---:" for c in s.columns]
    lines = ["| " + " | ".join(s.columns) + " |", "|" + "|".join(align) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in s.itertuples(index=False))])


def write(t: pd.DataFrame, lines: list[str], out: Path, runs: int) -> list[Path]:
    """fidelity.csv (every number, full precision, with the run directories) and fidelity.md."""
    csv, md = out / "fidelity.csv", out / "fidelity.md"
    t.to_csv(csv, index=False)
    md.write_text("\n".join([
        "# Timing fidelity: the simulator on a calibrated profile against real runs", "",
        f"Written by benchmarks/fidelity.py: per point, {pairing(t, runs)}. sim and real: the means; the real "
        "runs' min–max; error: the mean over real runs of (predicted − measured) ÷ measured, each against its "
        "own prediction; inside: the mean prediction lies inside the real runs' min–max; TV: total variation "
        "distance of the staleness distributions (each side pooled), beside the largest TV between two real "
        "runs. Run directories and the predictions' min–max: fidelity.csv.", "",
        f"Command: `python benchmarks/fidelity.py {' '.join(sys.argv[1:])}`", "",
        markdown(shown(t)), "", *(f"- {line}" for line in lines), ""]))
    return [csv, md]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke check: the plan's [quick] points, one real run each, a quick calibration")
    parser.add_argument("--out", type=Path, help="folder for profiles, sweeps and the table "
                                                 "(default runs/fidelity, runs/fidelity-quick with --quick)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="skip calibration: a folder of profiles, <task>-<r>.toml for real run r or <task>.toml for "
             "every run (an earlier run's <out>/profiles)")
    parser.add_argument("--plan", type=Path, default=PLAN, help=f"the benchmark's plan (default {PLAN.name} beside it)")
    args = parser.parse_args()
    plan = read_plan(args.plan, args.quick)
    out = (args.out or Path("runs") / ("fidelity-quick" if args.quick else "fidelity")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        given = args.profile and args.profile.resolve()  # absolute like a measured one: a rerun reuses the real runs
        results = [run_task(task, plan, out, given, args.quick) for task in plan["tasks"]]
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    rows = [row for pairs in results for row in point_rows(pairs)]
    if not rows:
        raise SystemExit("no point ran everywhere: nothing to compare (see the sweeps' reports above)")
    t = pd.DataFrame(rows)
    left = sum(len(pairs[0][1].points) for pairs in results) - len(rows)
    lines = [f"{len(rows)} points compared, {left} left out (invalid, or a run failed: the sweeps' reports say which)",
             *verdict(t, plan["targets"])]
    print(f"\nper point, {pairing(t, plan['runs'])} (error: the mean of (sim − real) ÷ real over the pairs)")
    print(shown(t).to_string(index=False))
    print("\n".join(["", *lines]))
    print("\nwritten: " + ", ".join(map(str, write(t, lines, out, plan["runs"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
