"""Small run directories for the analysis tests, made by the simulator on the digits demo config.

"Real" fixtures are simulated runs relabelled kind = "real" in run.json (with jitter on, so their
timings differ from the prediction and from each other): analysis reads only the run directory,
and a run directory from the runtime has the same schema (tests/analysis/test_trace.py).
"""
import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from rudra.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo_digits.toml"


def simulate(out: Path, *settings: str) -> Path:
    """`rudra simulate examples/demo_digits.toml --set ...` into `out` (short: 0.5 epochs unless set)."""
    args = ["simulate", str(EXAMPLE), "--out", str(out), "--set", "train.epochs=0.5"]
    for s in settings:
        args += ["--set", s]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0
    return out


def relabel_real(sim_dir: Path, out: Path, test_errors: list[float] | None = None) -> Path:
    """A copy of a simulated run that says it was measured; optionally with a test error per epoch."""
    shutil.copytree(sim_dir, out)
    info = json.loads((out / "run.json").read_text())
    info["kind"] = "real"
    (out / "run.json").write_text(json.dumps(info))
    if test_errors:
        add_metrics(out, test_errors)
    return out


def add_metrics(run_dir: Path, test_errors: list[float]) -> None:
    """Evaluations at epochs 0, 1, ... spread evenly over the run's trace (as a numerics run would write)."""
    end = json.loads((run_dir / "run.json").read_text())["summary"]
    seconds = end.get("seconds", end.get("simulated_seconds"))
    rows = [f"{k},{seconds * k / (len(test_errors) - 1)},{1.5 * e},{e}" for k, e in enumerate(test_errors)]
    (run_dir / "metrics.csv").write_text("epoch,t,train_loss,test_error\n" + "\n".join(rows) + "\n")


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """{"sim": a prediction, "real": [three 'measurements' of the same config]}: async, λ = 3."""
    base = tmp_path_factory.mktemp("runs")
    sim = simulate(base / "sim", "protocol.learners=3")
    real = [relabel_real(simulate(base / f"jitter{k}", "protocol.learners=3", "cluster.jitter_dist=lognormal",
                                  "cluster.jitter_cv=0.3", f"experiment.seed={k}"), base / f"real{k}")
            for k in range(3)]
    return {"sim": sim, "real": real}
