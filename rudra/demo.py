"""`rudra demo`: the whole loop on one experiment (examples/demo_digits.toml), in a couple of minutes.

1. predict: simulate each configuration of the experiment on its [cluster];
2. measure: train the same configurations for real on this machine (λ = 4
   learner processes, and the one-learner baseline);
3. compare: each prediction against its measurement (table with errors,
   compare.md and a figure per configuration);
4. decide: a small grid in the simulator (protocol × λ) and the figures a
   user decides from (accuracy/runtime tradeoff, speedup, staleness);
5. say where every file is.

Every step goes through the commands' own functions (runner, compare, sweep,
plot), so the demo's files are what those commands write.
"""
from __future__ import annotations

from pathlib import Path

from rudra.analysis.compare import compare, write
from rudra.analysis.plot import plot
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
GRID = [("vary", "protocol.name=hardsync,softsync,async"), ("vary", "protocol.learners=1,2,4,8")]
GRID_SETS = ["protocol.n=1", "sim.numerics=true"]  # numerics: the simulated points' test error, for the tradeoff
FIGURES = ("tradeoff", "speedup", "staleness")


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _error(e: float | None) -> str:
    return "n/a" if e is None else f"{100 * e:+.0f}%"


def predict_measure_compare(out: Path, sets: list[str], progress: bool) -> str:
    """Simulate and train each configuration and compare them (compare/<config>/); the table of errors."""
    rows = []
    for name, label, overrides in CONFIGS:
        exp = load(EXPERIMENT, [*sets, *overrides])
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


def decide(out: Path, sets: list[str], progress: bool) -> str:
    """The simulated grid (sweep/) and the decision figures (figures/; the tradeoff also places the real
    runs, the staleness panels are the grid's points at its largest λ); what the sweep reports."""
    result = sweep(EXPERIMENT, sets=[*sets, *GRID_SETS], items=GRID, mode="simulate", out=out / "sweep",
                   workers=None, dask=None, progress=progress)
    figures = out / "figures"
    widest = max(p.exp.protocol.learners for p, o in zip(result.points, result.outcomes) if o.status == "ok")
    at_widest = [result.folder / p.name for p, o in zip(result.points, result.outcomes)
                 if o.status == "ok" and p.exp.protocol.learners == widest]
    plot([result.folder, *(out / "train" / name for name, _, _ in CONFIGS)], "tradeoff", figures)
    plot([result.folder], "speedup", figures)
    plot(at_widest, "staleness", figures)
    return report(result)


def files() -> str:
    """Where each of the demo's files is, relative to its folder."""
    names = [name for name, _, _ in CONFIGS]
    where = [("predictions", ", ".join(f"predict/{n}" for n in names) + "  (run directories)"),
             ("measurements", ", ".join(f"train/{n}" for n in names) + "  (run directories)"),
             ("comparisons", ", ".join(f"compare/{n}/compare.md" for n in names) + "  (+ compare.png, .svg)"),
             ("grid", "sweep/index.csv  (one run directory per point beside it)"),
             ("figures", ", ".join(f"figures/{k}.png" for k in FIGURES) + "  (+ .svg)")]
    return "\n".join(f"   {what:<12}  {text}" for what, text in where)


def demo(out: Path, progress: bool, epochs: float | None = None) -> int:
    """The loop on examples/demo_digits.toml into `out`; `epochs` shortens every run (tests)."""
    sets = [f"train.epochs={epochs}"] if epochs is not None else []
    print(f"1-3. Predict, train for real, compare: {EXPERIMENT.name} (mlp on scikit-learn's digits), "
          "each configuration simulated on its [cluster], then trained here", flush=True)
    compared = predict_measure_compare(out, sets, progress)
    print(f"\n{compared}\n   error = (simulated − real) ÷ real; σ TV: total variation distance of the "
          "staleness distributions\n", flush=True)
    print("4. Decide: protocol × λ in the simulator", flush=True)
    print(decide(out, sets, progress), flush=True)
    print(f"\n5. Files under {out}:\n{files()}\n"
          "   Run directories hold run.json, gradients.csv, updates.csv, metrics.csv, ... (README: Traces).\n"
          "   Next: the README's \"Decide a configuration\" (rudra sweep, rudra plot) on your own experiment.",
          flush=True)
    return 0
