"""The `rudra` command line: check, simulate, train, demo (and the commands still to come).

Every user-facing failure ends as one line on stderr and exit code 2; the
layers below raise their own one-line errors and this module is the only
place that turns them into an exit.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rudra.config import ConfigError, describe, load, parse, to_toml
from rudra.rundir import resumable, writable

def _version() -> str:
    try:
        return version("rudra")
    except PackageNotFoundError:
        return "unknown (not installed)"


def progress_wanted() -> bool:
    """Progress bars on a terminal only, never in CI logs."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def run_dir(exp, kind: str, out: str | None) -> Path:
    """Where this run writes: --out, else <experiment.out>/<name>/<kind>; created, and checked writable."""
    return writable(Path(out) if out else Path(exp.experiment.out) / exp.experiment.name / kind)


def _show(v) -> str:
    """A summary value as text: floats to 6 significant digits, also inside lists."""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(map(_show, v)) + "]"
    return str(v)


def print_summary(title: str, summary: dict, out: Path) -> None:
    """Summary dict as aligned `key: value` lines (nested dicts flattened with dots; the σ histogram and
    the per-learner counts are named, not printed: they are in run.json, staleness.csv and learners.csv)."""
    print(f"{title} -> {out}")
    flat: dict[str, object] = {}

    def walk(prefix: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(f"{prefix}{k}.", v)
            elif k == "staleness_histogram":
                flat[prefix + k] = f"{len(v)} bins in run.json, every σ in staleness.csv"
            elif k == "learner_gradients":
                flat[prefix + k] = f"{len(v)} learners in run.json and learners.csv"
            elif k != "staleness_bin_width":
                flat[prefix + k] = v

    walk("", summary)
    width = max(map(len, flat), default=0)
    for k, v in flat.items():
        text = v if isinstance(v, str) else _show(v)
        print(f"  {k:<{width}}  {text}")


# --- commands -----------------------------------------------------------------

def cmd_check(args) -> int:
    if args.defaults and (args.file or args.set):
        raise ConfigError("check --defaults lists the built-in defaults and takes no FILE or --set; "
                          "`rudra check FILE` prints FILE's resolved config")
    if args.defaults:
        print(describe())
        return 0
    if not args.file:
        raise ConfigError("check: give an experiment FILE, or --defaults to list every setting")
    print(to_toml(load(args.file, args.set, args.profile)), end="")
    return 0


def cmd_simulate(args) -> int:
    from rudra.runner import run_experiment

    exp = load(args.file, args.set + (["sim.numerics=true"] if args.numerics else []), args.profile)
    out = run_dir(exp, "sim", args.out)
    summary = run_experiment(exp, "simulate", out, progress_wanted())
    print_summary(f"simulated {exp.experiment.name}", summary, out)
    return 0


def cmd_train(args) -> int:
    from rudra.runner import run_experiment

    if args.resume:
        if args.file or args.set or args.out or args.force:
            raise ConfigError(f"--resume {args.resume} continues that run with the config in its run.json; "
                              "it takes no FILE, --set, --out or --force")
        out = Path(args.resume)
        exp = parse(resumable(out), f"{out}/run.json")
        writable(out)
    else:
        exp = load(args.file, args.set)
        out = run_dir(exp, "train", args.out)
        if (out / "run.json").exists() and not args.force:
            raise ConfigError(f"{out} holds a run already: allowed --resume {out}, --force to overwrite, or --out")
    summary = run_experiment(exp, "train", out, progress_wanted(), resume=bool(args.resume))
    if summary is not None:  # under torchrun only one process reports
        print_summary(f"trained {exp.experiment.name}", summary, out)
    return 0


def cmd_demo(args) -> int:
    from rudra.demo import demo
    return demo(writable(Path(args.out)), progress_wanted())


def cmd_timeline(args) -> int:
    from rudra.analysis.timeline import timeline
    counts = timeline(args.runs, args.out)
    print(f"timeline of {counts['runs']} run(s): {counts['gradients']} gradients, {counts['updates']} updates -> "
          f"{args.out} (open it in Perfetto, ui.perfetto.dev, or chrome://tracing)")
    return 0


def cmd_sweep(args) -> int:
    from rudra.sweep import report, sweep
    print(report(sweep(args.file, sets=args.set, items=args.axes, mode=args.mode, out=args.out,
                       workers=args.workers, dask=args.dask, progress=progress_wanted(), profile=args.profile)))
    return 0


def cmd_compare(args) -> int:
    from rudra.analysis.compare import compare, write
    c = compare(args.sim, args.real, args.also)
    out = Path(args.out) if args.out else Path(args.sim).parent / "compare"
    print(c.text())
    print("wrote " + ", ".join(map(str, write(c, out))))
    return 0


def cmd_plot(args) -> int:
    from rudra.analysis.plot import plot
    print("wrote " + ", ".join(map(str, plot(args.runs, args.kind, args.out))))
    return 0


def cmd_reproduce(args) -> int:
    from rudra.reproduce import reproduce
    done = reproduce(writable(Path(args.out)), quick=args.quick, cifar10=args.cifar10, progress=progress_wanted())
    for f in done["findings"]:
        print(f"{f.title}: {f.verdict}\n  {f.numbers}")
    print("wrote " + ", ".join(map(str, done["table"])) + f" and {len(done['figures'])} figure files in "
          f"{Path(args.out) / 'figures'}")
    return 0


def cmd_calibrate(args) -> int:
    from rudra.calibrate import calibrate

    exp = load(args.file, args.set) if args.file else parse({}, "defaults")
    out = Path(args.out)
    writable(out.parent if str(out.parent) else Path("."))
    print(f"calibrating for {exp.model.name} on {exp.data.name}, μ = {exp.train.minibatch}, "
          f"{exp.protocol.learners} learners + {exp.protocol.shards} server{'s' * (exp.protocol.shards > 1)}"
          f"{' (quick)' if args.quick else ''}", file=sys.stderr)
    lines = calibrate(exp, out, quick=args.quick, step=lambda what: print(f"  measuring {what}", file=sys.stderr))
    print(f"calibrated -> {out}")
    for line in lines:
        print(f"  {line}")
    return 0


# --- parser -------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rudra", description="Parameter-server SGD: simulate a cluster, train for real, "
                                "compare. One TOML experiment file drives every command.")
    p.add_argument("--version", action="version", version=f"rudra {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_file(name: str, text: str, optional: bool = False) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=text, description=text)
        c.add_argument("file", nargs="?" if optional else None, metavar="FILE", help="experiment TOML file")
        c.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override one setting (repeatable), e.g. --set protocol.learners=8")
        return c

    c = with_file("check", "validate FILE and print the resolved config (defaults filled in) as TOML", True)
    c.add_argument("--defaults", action="store_true", help="list every section and setting with its default")
    c.add_argument("--profile", metavar="PROFILE", help="merge this calibration profile's [cluster] (rudra calibrate)")
    c.set_defaults(run=cmd_check)

    c = with_file("simulate", "predict runtime, throughput and staleness of FILE's cluster (SimPy)")
    c.add_argument("--out", help="run directory (default <experiment.out>/<name>/sim)")
    c.add_argument("--profile", metavar="PROFILE", help="the [cluster] of this calibration profile (rudra calibrate) "
                   "over FILE's own")
    c.add_argument("--numerics", action="store_true", help="also run the real gradients in simulated order "
                   "(the same as --set sim.numerics=true): test error per epoch in metrics.csv")
    c.set_defaults(run=cmd_simulate)

    c = with_file("train", "train for real with FILE's protocol on torch.distributed (local, or under torchrun)", True)
    c.add_argument("--out", help="run directory (default <experiment.out>/<name>/train)")
    c.add_argument("--resume", metavar="RUNDIR", help="continue the run in RUNDIR from its last checkpoint")
    c.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    c.set_defaults(run=cmd_train)

    c = sub.add_parser("demo", help="the whole loop on the shipped digits experiment: calibrate this machine, "
                       "predict, train, compare, sweep a grid and draw the figures")
    c.add_argument("--out", default="runs/demo", help="folder for the demo's runs (default runs/demo)")
    c.set_defaults(run=cmd_demo)

    c = sub.add_parser("compare", help="hold a simulated run against real runs of the same config",
                       description="table (terminal and markdown) of predicted against measured time per epoch, "
                       "rates and staleness, with the real runs' spread and the relative error; and a figure")
    c.add_argument("sim", metavar="SIMRUN", help="run directory of `rudra simulate`")
    c.add_argument("real", nargs="+", metavar="REALRUN", help="run directories of `rudra train`, same config")
    c.add_argument("--also", action="append", default=[], metavar="SIMRUN",
                   help="another run of `rudra simulate` of the same config, e.g. another experiment.seed "
                        "(repeatable): the prediction is their mean, shown with their min–max")
    c.add_argument("--out", help="folder for compare.md, compare.png, compare.svg (default beside SIMRUN: compare/)")
    c.set_defaults(run=cmd_compare)

    c = sub.add_parser("plot", help="draw tradeoff, error, staleness, speedup or throughput figures",
                       description="PNG and SVG from run directories and sweep folders (index.csv)")
    c.add_argument("runs", nargs="+", metavar="RUN_OR_SWEEP", help="run directory or sweep folder")
    c.add_argument("--kind", required=True, help="the figure: error-vs-time, error-vs-epoch, staleness, speedup, "
                   "throughput or tradeoff")  # not choices=: importing matplotlib would slow every command
    c.add_argument("--out", default="plots", help="folder for KIND.png and KIND.svg (default plots/)")
    c.set_defaults(run=cmd_plot)

    c = sub.add_parser("timeline", help="export run directories as a Chrome trace event file (Perfetto)",
                       description="one track per learner (compute, push, pull) and per server shard (updates); "
                       "several runs go side by side in one file")
    c.add_argument("runs", nargs="+", metavar="RUN", help="run directory written with trace = \"full\"")
    c.add_argument("--out", default="trace.json", help="trace event JSON to write (default trace.json)")
    c.set_defaults(run=cmd_timeline)

    c = with_file("sweep", "run FILE over a grid of settings: a run directory per point and index.csv "
                  "(simulated points in parallel here, or on a Dask cluster)")
    c.add_argument("--vary", dest="axes", action="append", default=[], type=lambda s: ("vary", s),
                   metavar="SECTION.KEY=V1,V2,...", help="one axis of the grid (repeatable: every combination runs)")
    c.add_argument("--zip", dest="axes", action="append", default=[], type=lambda s: ("zip", s),
                   metavar="SECTION.KEY=V1,V2,...", help="values varied together with the other --zip lists "
                   "(one length), e.g. --zip protocol.learners=1,2,4 --zip train.minibatch=128,64,32")
    c.add_argument("--mode", choices=("simulate", "train"), default="simulate",
                   help="simulate (default) or train each point for real")
    c.add_argument("--out", help="sweep folder (default <experiment.out>/<name>/sweep)")
    c.add_argument("--profile", metavar="PROFILE", help="the [cluster] of this calibration profile (rudra calibrate) "
                   "over FILE's own, in every point")
    c.add_argument("--workers", type=int, help="local processes for simulated points (default: one per core)")
    c.add_argument("--dask", metavar="ADDRESS", help="run the points on the existing Dask cluster whose scheduler "
                   "is at ADDRESS, e.g. tcp://HOST:8786 (needs rudra[dask])")
    c.set_defaults(run=cmd_sweep)

    c = sub.add_parser("reproduce", help="rerun the paper's studies at a size that fits here: table and figures",
                       description="staleness, learning-rate modulation, μλ, runtime and architectures, each in "
                       "the simulator's numerics mode and, where λ fits this machine, for real")
    c.add_argument("--quick", action="store_true", help="a small version of every study (CI: about two minutes)")
    c.add_argument("--out", default="runs/reproduce", help="folder for the runs, results.md/.csv and figures/ "
                   "(default runs/reproduce)")
    c.add_argument("--cifar10", metavar="PATH", help="also run the accuracy studies with cifar10_full on "
                   "CIFAR-10 from PATH (the cifar-10-batches-py folder; hours)")
    c.set_defaults(run=cmd_reproduce)

    c = with_file("calibrate", "measure this machine (compute law, core sharing, server costs, gloo link) for FILE's "
                  "model, data and processes, and write the [cluster] profile `simulate --profile` reads", True)
    c.add_argument("--out", default="profile.toml", help="profile TOML to write (default profile.toml)")
    c.add_argument("--quick", action="store_true", help="short timing windows: a few seconds, rougher numbers")
    c.set_defaults(run=cmd_calibrate)
    return p


def user_errors() -> tuple[type[Exception], ...]:
    """The one-line error types of every layer, which end a command with exit 2."""
    from rudra.analysis import TraceError
    from rudra.models.errors import DatasetError
    from rudra.protocol import ProtocolError
    from rudra.runtime.errors import LaunchError
    from rudra.sim.errors import SimError
    return ConfigError, DatasetError, TraceError, ProtocolError, LaunchError, SimError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "train" and not (args.file or args.resume):
        print("rudra: train needs an experiment FILE or --resume RUNDIR", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt as stop:  # SIGINT, or SIGTERM during a run (runtime.errors.Interrupted)
        signum = getattr(stop, "signum", signal.SIGINT)
        print(f"rudra: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        if isinstance(e, user_errors()):
            print(f"rudra: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
