"""Timing prediction held against measurement: the simulator on a calibrated profile against real runs here.

For each task of benchmarks/fidelity.toml (mlp/digits and small_cnn/synthetic, 3 epochs each): calibrate this
machine once for the task's model and data, at the grid's largest process count (rudra/calibrate.py); then
sweep the grid (λ ∈ {1, 2, 4} × μ ∈ {8, 32} × hardsync, 1-softsync, async on Rudra-base, plus adv with 2
shards and adv* at λ = 4) with rudra/sweep.py, once simulated on the profile and `runs` times trained for
real, one run at a time (each real sweep is one run of every point, so the run-to-run spread also holds the
machine's drift over the benchmark). Each point's predicted and measured values come from `rudra compare`
(rudra.analysis.compare): time per epoch and gradients/s with the real runs' mean and min–max, the relative
error and whether the prediction lies inside that spread, ⟨σ⟩, and the total variation distance of the
staleness distributions. Targets (issue 12): median |error| of time per epoch ≤ 5 %, worst ≤ 15 %, ⟨σ⟩
within 10 % and TV ≤ 0.1 at every point.
Writes <out>/fidelity.csv and fidelity.md (the table and the verdict); <out>/profiles/<task>.toml; the sweeps
under <out>/<task>/ (sim, real-1, ...). Rerunning with the same --out reruns nothing that finished.
Run: python benchmarks/fidelity.py [--out DIR] [--profile DIR]   (≈ 30 minutes on a quiet 2-core machine)
     python benchmarks/fidelity.py --quick                          (a smoke check: 6 points, ≈ 2-3 minutes)
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import pandas as pd

from rudra.analysis.compare import compare
from rudra.calibrate import calibrate
from rudra.config import ConfigError, load
from rudra.sweep import Result, report, sweep

PLAN = Path(__file__).with_suffix(".toml")
GRID_KEYS = {"set", "vary", "zip"}
TARGET_KEYS = {"epoch_error_median", "epoch_error_worst", "sigma_error", "tv"}
# table column -> the quantity of `rudra compare` it shows: every per-point number is compare's
QUANTITIES = {"s/epoch": "time per epoch", "grad/s": "gradients/s", "<σ>": "⟨σ⟩"}


def read_plan(path: Path, quick: bool) -> dict:
    """The plan: tasks (absolute paths), calibrate sets, runs, the grid ([quick]'s with --quick) and the
    targets; SystemExit with one line naming what is wrong."""
    def bad(what: str) -> SystemExit:
        return SystemExit(f"{path}: {what}")

    try:
        plan = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise bad(f"cannot be read as TOML ({e})") from None
    unknown = sorted(set(plan) - {"tasks", "calibrate", "runs", "grid", "targets", "quick"})
    if unknown:
        raise bad(f"{unknown[0]}: allowed tasks, calibrate, runs, [grid], [targets], [quick]")
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
    return {"tasks": tasks, "calibrate": plan.get("calibrate", []), "runs": runs, "targets": targets,
            "sets": grid.get("set", []),
            "items": [("vary", v) for v in grid.get("vary", [])] + [("zip", z) for z in grid.get("zip", [])]}


def profiles(plan: dict, out: Path, given: Path | None, quick: bool) -> dict[Path, Path]:
    """Each task's calibration profile: measured now into <out>/profiles/, or taken from `given` (a folder of
    <task>.toml, as an earlier run wrote)."""
    found = {}
    for task in plan["tasks"]:
        if given is not None:
            found[task] = given / f"{task.stem}.toml"
            if not found[task].is_file():
                raise SystemExit(f"--profile {given}: no {task.stem}.toml there; allowed a folder holding one "
                                 "profile per task, named after its experiment file (an earlier run's <out>/profiles)")
            continue
        exp = load(task, plan["calibrate"])
        print(f"calibrating this machine for {task.name} ({exp.model.name}/{exp.data.name}, "
              f"{exp.protocol.learners} learners + {exp.protocol.shards} shards{', quick' if quick else ''})",
              flush=True)
        found[task] = out / "profiles" / f"{task.stem}.toml"
        lines = calibrate(exp, found[task], quick=quick, step=lambda what: print(f"  measuring {what}", file=sys.stderr))
        print("\n".join(f"  {line}" for line in lines), flush=True)
    return found


def run_task(task: Path, plan: dict, profile: Path, out: Path) -> tuple[Result, list[Result]]:
    """The task's grid simulated on the profile, then trained for real `runs` times (rudra sweep)."""
    def one(mode: str, folder: str) -> Result:
        result = sweep(task, sets=plan["sets"], items=plan["items"], mode=mode, out=out / task.stem / folder,
                       workers=None, dask=None, progress=True, profile=str(profile))
        print(report(result), flush=True)
        return result

    print(f"\n{task.name}: predicting every point on {profile}", flush=True)
    sim = one("simulate", "sim")
    real = []
    for r in range(1, plan["runs"] + 1):
        print(f"{task.name}: training every point for real, run {r} of {plan['runs']}", flush=True)
        real.append(one("train", f"real-{r}"))
    return sim, real


def point_rows(sim: Result, real: list[Result]) -> list[dict]:
    """One table row per point that ran everywhere: labels, then compare's numbers."""
    rows = []
    for i, point in enumerate(sim.points):
        if any(r.outcomes[i].status != "ok" for r in (sim, *real)):
            continue  # sweep's report has said why
        exp = point.exp
        c = compare(sim.folder / point.name, [r.folder / point.name for r in real])
        q = {row.quantity: row for row in c.rows}
        protocol = f"{exp.protocol.n}-softsync" if exp.protocol.name == "softsync" else exp.protocol.name
        row = {"task": f"{exp.model.name}/{exp.data.name}", "protocol": protocol,
               "arch": exp.protocol.architecture, "λ": exp.protocol.learners, "μ": exp.train.minibatch}
        for column, quantity in QUANTITIES.items():
            r = q[quantity]
            row |= {f"{column} sim": r.predicted, f"{column} real": r.mean, f"{column} min": min(r.measured),
                    f"{column} max": max(r.measured), f"{column} error": r.error}
            if column == "s/epoch":
                row["s/epoch inside"] = r.inside
        row |= {"TV": c.tv, "TV real-real": c.tv_between_real, "sim dir": str(c.sim),
                "real dirs": " ".join(map(str, c.real))}
        rows.append(row)
    return rows


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
        f"{t['TV real-real'].max():.3f}",
    ]


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
        f"Written by benchmarks/fidelity.py: per point, the prediction against {runs} real run(s): their mean, "
        "min–max, the error (predicted − measured mean) ÷ measured mean and whether the prediction lies inside "
        "the min–max; TV: total variation distance of the staleness distributions (sim against the real runs "
        "pooled), beside the largest TV between two real runs. Run directories: fidelity.csv.", "",
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
                        help="skip calibration: a folder of profiles, <task>.toml each (an earlier run's <out>/profiles)")
    parser.add_argument("--plan", type=Path, default=PLAN, help=f"the benchmark's plan (default {PLAN.name} beside it)")
    args = parser.parse_args()
    plan = read_plan(args.plan, args.quick)
    out = (args.out or Path("runs") / ("fidelity-quick" if args.quick else "fidelity")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        given = args.profile and args.profile.resolve()  # absolute like a measured one: a rerun reuses the real runs
        found = profiles(plan, out, given, args.quick)
        results = [run_task(task, plan, found[task], out) for task in plan["tasks"]]
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    rows = [row for sim, real in results for row in point_rows(sim, real)]
    if not rows:
        raise SystemExit("no point ran everywhere: nothing to compare (see the sweeps' reports above)")
    t = pd.DataFrame(rows)
    left = sum(len(sim.points) for sim, _ in results) - len(rows)
    lines = [f"{len(rows)} points compared, {left} left out (invalid, or a run failed: the sweeps' reports say which)",
             *verdict(t, plan["targets"])]
    print(f"\nprediction against {plan['runs']} real run(s) per point (error = (sim − real mean) ÷ real mean)")
    print(shown(t).to_string(index=False))
    print("\n".join(["", *lines]))
    print("\nwritten: " + ", ".join(map(str, write(t, lines, out, plan["runs"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
