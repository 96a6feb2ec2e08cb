"""The one experiment runner: a validated Experiment → a simulated or a real run directory and its summary.

Every command that runs an experiment (simulate, train, demo, and sweep and
compare after them) comes through `run_experiment`, so the derived inputs are
resolved in one place and the summary is computed one way. The drivers write
their trace and run.json (derived inputs, end-of-run facts, their extras);
this module then adds rudra.analysis's summary to run.json, since the drivers
may not import analysis.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rudra import runtime
from rudra.analysis import summarize
from rudra.config import Experiment, to_dict
from rudra.models.size import BYTES_PER_PARAMETER, data_shape, spec_parameter_count, train_samples
from rudra.protocol import read_run_json, write_run_json
from rudra.runtime import LaunchError
from rudra.sim import simulate

MODES = ("simulate", "train")


@dataclass(frozen=True)
class Inputs:
    """What a simulation derives from the config (a real run derives its own from the data it loads)."""

    train_samples: int  # N after data.train_limit
    parameters: int     # of the configured model
    model_bytes: int    # one weights or gradient message: cluster.model_bytes if set, else the model's float32 size


def resolve(exp: Experiment) -> Inputs:
    """N, the model's parameter count and the message size, without loading data or torch."""
    shape, classes = data_shape(exp.data)
    parameters = spec_parameter_count(exp.model, shape, classes)
    model_bytes = exp.cluster.model_bytes if exp.cluster.model_bytes is not None else BYTES_PER_PARAMETER * parameters
    return Inputs(train_samples(exp.data), parameters, model_bytes)


def run_experiment(exp: Experiment, mode: str, out: str | Path, progress: bool, resume: bool = False) -> dict | None:
    """Simulate or train `exp` into `out`; the run's summary (also stored in run.json), or None on a
    torchrun rank that does not write the trace. A real run that fails keeps a summary of how far it got."""
    out = Path(out)
    if mode == "simulate":
        _simulate(exp, out, progress)
    elif mode == "train":
        try:  # runtime.train imports torch on first use: `rudra simulate` never does
            record = runtime.train(exp.protocol, exp.train, exp.model, exp.data, exp.runtime, seed=exp.experiment.seed,
                           out=out, config=to_dict(exp), progress=progress, resume=resume)
        except LaunchError:
            _summarize_failed(out)
            raise
        if record is None:
            return None
    else:
        raise ValueError(f"mode {mode!r}: allowed {', '.join(MODES)}")
    return store_summary(out)


def _simulate(exp: Experiment, out: Path, progress: bool) -> None:
    inputs = resolve(exp)
    simulate(exp.protocol, exp.train, exp.cluster, exp.sim, train_samples=inputs.train_samples,
             model_bytes=inputs.model_bytes, parameters=inputs.parameters, seed=exp.experiment.seed, out=out,
             config=to_dict(exp), progress=progress, model=exp.model, data=exp.data,
             eval_every=exp.runtime.eval_every, threads=exp.runtime.threads,
             device=exp.runtime.device)


def store_summary(out: Path) -> dict:
    """Summarise the run directory `out` and store the summary in its run.json under "summary"."""
    summary = summarize(out)
    write_run_json(out, {**read_run_json(out), "summary": summary})
    return summary


def _summarize_failed(out: Path) -> None:
    """Store the summary of a run whose server recorded its failure (not of one that died unrecorded)."""
    if (out / "run.json").is_file() and read_run_json(out).get("status") == "failed":
        store_summary(out)
