"""`rudra demo`: the whole loop on one experiment (examples/demo_digits.toml), in a couple of minutes.

1. calibrate: measure this machine for the experiment (a full calibration: a quick one's 0.1 s windows
   made the λ = 4 predictions swing by tens of percent from one demo to the next), up to the
   grid's largest λ, into a [cluster] profile;
2. predict: simulate each configuration on that profile;
3. measure: train the same configurations for real here (λ = 4 learner
   processes, and the one-learner baseline);
4. compare: each prediction against its measurement (table with errors,
   compare.md and a figure per configuration);
5. decide: a small grid in the simulator on the profile (protocol × λ) and
   the figures a user decides from (accuracy/runtime tradeoff, speedup,
   staleness); then say where every file is.

Every step goes through the commands' own functions (calibrate, runner,
compare, sweep, plot), so the demo's files are what those commands write.
"""
from __future__ import annotations

import sys
from pathlib import Path

from rudra.analysis.compare import compare, write
from rudra.analysis.plot import plot
from rudra.calibrate import calibrate
from rudra.config import load
from rudra.runner import run_experiment
from rudra.sweep import report, sweep

EXPERIMENT = Path(__file__).resolve().parent.parent / "examples" / "demo_digits.toml"
CONFIGS = [  # (folder, label, overrides of the experiment), each predicted and trained; all keep its lr policy
    ("baseline", "1 learner", ["protocol.learners=1"]),  # per-gradient at σ ≡ 0: plain SGD
    ("hardsync", "hardsync, λ=4", ["protocol.name=hardsync"]),
    ("async", "async, λ=4", []),
]
# the simulated grid: every protocol at λ = 1 … 8 (softsync at n = 1; the others do not read n)
LEARNERS = (1, 2, 4, 8)
GRID = [("vary", "protocol.name=hardsync,softsync,async"), ("vary", f"protocol.learners={','.join(map(str, LEARNERS))}")]
GRID_SETS = ["protocol.n=1", "sim.numerics=true"]  # numerics: the simulated points' test error, for the tradeoff
FIGURES = ("tradeoff", "speedup", "staleness")


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _error(e: float | None) -> str:
    return "n/a" if e is None else f"{100 * e:+.0f}%"


def calibrate_here(out: Path, sets: list[str]) -> tuple[Path, list[str]]:
    """The profile of this machine for the experiment with the grid's largest λ (every point's process count
    is measured, none extrapolated), and what it found."""
    exp = load(EXPERIMENT, [*sets, f"protocol.learners={max(LEARNERS)}"])
    path = out / "profile.toml"
    lines = calibrate(exp, path, quick=False, step=lambda what: print(f"   measuring {what}", file=sys.stderr))
    return path, lines


def predict_measure_compare(out: Path, sets: list[str], profile: Path, progress: bool) -> str:
    """Simulate (on the profile) and train each configuration and compare them (compare/<config>/); the
    table of errors."""
    rows = []
    for name, label, overrides in CONFIGS:
        exp = load(EXPERIMENT, [*sets, *overrides], str(profile))
        print(f"   {label}: predicting, then training for real ...", flush=True)
        sim, real = out / "predict" / name, out / "train" / name
        run_experiment(exp, "simulate", sim, progress)
        measured = run_experiment(exp, "train", real, progress)
        c = compare(sim, [real])
        write(c, out / "compare" / name)
        q = {r.quantity: r for r in c.rows}
        epoch, rate, sigma = q["time per epoch"], q["gradients/s"], q["⟨σ⟩"]
        test_error = measured.get("test_error")
        rows.append([label, f"{epoch.predicted:.3f}", f"{epoch.mean:.3f}", _error(epoch.error),
                     f"{rate.predicted:,.0f}", f"{rate.mean:,.0f}", _error(rate.error),
                     f"{sigma.predicted:.2f}", f"{sigma.mean:.2f}", f"{c.tv:.2f}",
                     "n/a" if test_error is None else f"{100 * test_error:.1f}%"])
    header = ["configuration", "s/epoch sim", "real", "error", "gradients/s sim", "real", "error",
              "<σ> sim", "real", "σ TV", "test error"]
    return table(header, rows)


def decide(out: Path, sets: list[str], profile: Path, progress: bool) -> str:
    """The simulated grid on the profile (sweep/) and the decision figures (figures/; the tradeoff also
    places the real runs, the staleness panels are the grid's points at its largest λ); the sweep's report."""
    result = sweep(EXPERIMENT, sets=[*sets, *GRID_SETS], items=GRID, mode="simulate", out=out / "sweep",
                   workers=None, dask=None, progress=progress, profile=str(profile))
    figures = out / "figures"
    at_widest = [result.folder / p.name for p, o in zip(result.points, result.outcomes)
                 if o.status == "ok" and p.exp.protocol.learners == max(LEARNERS)]
    plot([result.folder, *(out / "train" / name for name, _, _ in CONFIGS)], "tradeoff", figures)
    plot([result.folder], "speedup", figures)
    plot(at_widest, "staleness", figures)
    return report(result)


def files() -> str:
    """Where each of the demo's files is, relative to its folder."""
    names = [name for name, _, _ in CONFIGS]
    where = [("profile", "profile.toml  (rudra calibrate's; `rudra simulate --profile` reads it)"),
             ("predictions", ", ".join(f"predict/{n}" for n in names) + "  (run directories)"),
             ("measurements", ", ".join(f"train/{n}" for n in names) + "  (run directories)"),
             ("comparisons", ", ".join(f"compare/{n}/compare.md" for n in names) + "  (+ compare.png, .svg)"),
             ("grid", "sweep/index.csv  (one run directory per point beside it)"),
             ("figures", ", ".join(f"figures/{k}.png" for k in FIGURES) + "  (+ .svg)")]
    return "\n".join(f"   {what:<12}  {text}" for what, text in where)


def demo(out: Path, progress: bool, epochs: float | None = None) -> int:
    """The loop on examples/demo_digits.toml into `out`; `epochs` shortens every run (tests)."""
    sets = [f"train.epochs={epochs}"] if epochs is not None else []
    print(f"1. Calibrate: this machine for {EXPERIMENT.name} (mlp on scikit-learn's digits)", flush=True)
    profile, found = calibrate_here(out, sets)
    print("\n".join(f"   {line}" for line in found), flush=True)
    print("\n2-4. Predict on that profile, train for real here, compare", flush=True)
    compared = predict_measure_compare(out, sets, profile, progress)
    print(f"\n{compared}\n   error = (simulated − real) ÷ real; σ TV: total variation distance of the "
          "staleness distributions\n", flush=True)
    print(f"5. Decide: protocol × λ = {', '.join(map(str, LEARNERS))} in the simulator, on the profile", flush=True)
    print(decide(out, sets, profile, progress), flush=True)
    print(f"\n6. Files under {out}:\n{files()}\n"
          "   Run directories hold run.json, gradients.csv, updates.csv, metrics.csv, ... (README: Traces).\n"
          "   Next: the README's \"Decide a configuration\" (rudra sweep, rudra plot) on your own experiment.",
          flush=True)
    return 0
