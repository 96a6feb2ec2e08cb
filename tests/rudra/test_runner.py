"""The experiment runner: derived inputs resolved once and recorded, one summary for either driver.

The real run of the last test (mlp on 256 digits, λ = 2, one epoch) is the
smallest that exercises the whole runtime path; the simulated runs are instant.
"""
import contextlib
import io
import math

import pytest
import tomli_w

from rudra.analysis import CORE, summarize
from rudra.cli import main
from rudra.config import parse
from rudra.models.size import spec_parameter_count
from rudra.protocol import read_run_json
from rudra.runner import run_experiment
from rudra.runtime import LaunchError

SMALL = {
    "experiment": {"name": "small", "seed": 1},
    "protocol": {"name": "async", "learners": 2},
    "train": {"minibatch": 8, "lr": 0.05, "epochs": 1.0},
    "model": {"name": "mlp", "hidden": [32]},
    "data": {"name": "digits", "train_limit": 256},
    "cluster": {"minibatch_seconds": 0.001, "minibatch_seconds_at": 8},
    "sim": {"speedup": False},
    "runtime": {"timeout": 10.0},
}
PARAMETERS = spec_parameter_count(parse(SMALL).model, (64,), 10)  # 64 → 32 → 10


def test_simulate_records_the_resolved_inputs_and_stores_the_summary(tmp_path):
    summary = run_experiment(parse(SMALL), "simulate", tmp_path, progress=False)
    run = read_run_json(tmp_path)
    assert run["summary"] == summary == summarize(tmp_path)
    assert run["inputs"] == {"learners": 2, "minibatch": 8, "train_samples": 256, "parameters": PARAMETERS,
                             "model_bytes": 4 * PARAMETERS, "gradients_per_epoch": 32.0, "target_gradients": 32,
                             "epochs_target": 1.0}
    assert summary["gradients"] == 32 and summary["time_to_target"] == summary["seconds"] > 0


def test_cluster_model_bytes_replaces_the_models_size_in_the_simulation(tmp_path):
    config = {**SMALL, "cluster": {**SMALL["cluster"], "model_bytes": 10**6, "bandwidth": 10**9}}
    run_experiment(parse(config), "simulate", tmp_path / "big", progress=False)
    run_experiment(parse(SMALL | {"cluster": {**SMALL["cluster"], "bandwidth": 10**9}}), "simulate",
                   tmp_path / "model", progress=False)
    big, model = (read_run_json(tmp_path / d) for d in ("big", "model"))
    assert (big["inputs"]["model_bytes"], big["inputs"]["parameters"]) == (10**6, PARAMETERS)
    assert big["seconds"] > model["seconds"]  # 1 MB messages at 1 GB/s: a millisecond each way per gradient


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="allowed simulate, train"):
        run_experiment(parse(SMALL), "guess", tmp_path, progress=False)


def check_units(s: dict) -> None:
    """The relations that fix each core figure's unit: seconds, per second, per epoch, σ in versions. Rates and
    time per epoch are over the training, which ends at the target (a real run evaluates and shuts down after)."""
    training = s["training_seconds"]
    assert s["seconds"] > 0 and 0 < training == s["time_to_target"] <= s["seconds"]
    assert s["gradients_per_second"] == pytest.approx(s["gradients"] / training)
    assert s["updates_per_second"] == pytest.approx(s["updates"] / training)
    assert s["samples_per_second"] == pytest.approx(8 * s["gradients_per_second"])
    assert s["seconds_per_epoch"] == pytest.approx(training / s["epochs"])
    assert s["staleness"]["count"] == s["gradients"] == sum(s["learner_gradients"])
    assert len(s["learner_gradients"]) == 2
    assert s["learner_gradients_per_second"]["mean"] == pytest.approx(s["gradients_per_second"] / 2)
    assert sum(n for _, n in s["staleness_histogram"]) == s["gradients"] and s["staleness_bin_width"] == 1


@pytest.mark.slow
def test_simulate_and_train_write_summaries_with_the_same_core_keys_and_units(tmp_path):
    """`rudra simulate` and `rudra train` of one config: the same core keys, each driver's extras under its
    own key, and the same units (seconds: simulated or wall; rates per second; σ in versions)."""
    exp = tmp_path / "exp.toml"
    exp.write_text(tomli_w.dumps(SMALL))
    for command in ("simulate", "train"):
        with contextlib.redirect_stdout(io.StringIO()):
            assert main([command, str(exp), "--out", str(tmp_path / command)]) == 0
    sim, real = (read_run_json(tmp_path / c) for c in ("simulate", "train"))
    assert (sim["kind"], real["kind"]) == ("sim", "real")
    assert set(sim["summary"]) - {"sim"} == set(real["summary"]) - {"runtime"} == set(CORE)
    assert "sim" in sim["summary"] and "runtime" in real["summary"]
    for s in (sim["summary"], real["summary"]):
        check_units(s)
        assert (s["status"], s["stopped_by"], s["gradients"], s["epochs"]) == ("finished", "epochs", 32, 1.0)
    assert sim["summary"]["test_error"] is None and 0 < real["summary"]["test_error"] < 1
    assert not math.isnan(real["summary"]["train_loss"])
    assert sim["inputs"] == real["inputs"]  # N, parameters, bytes, epoch length: derived alike by both drivers
    assert set(sim["machine"]) <= set(real["machine"])


@pytest.mark.slow
def test_a_failed_real_run_keeps_a_summary_of_how_far_it_got(tmp_path):
    """hardsync stops when a learner dies: the one-line error reaches the caller, and run.json holds the
    summary of the failed run with the runtime's reason."""
    config = {**SMALL, "protocol": {"name": "hardsync", "learners": 2},
              "runtime": {"timeout": 10.0, "fault": "learner-exit", "fault_target": 1, "fault_after": 3}}
    with pytest.raises(LaunchError, match="hardsync stops the run"):
        run_experiment(parse(config), "train", tmp_path, progress=False)
    summary = read_run_json(tmp_path)["summary"]
    assert (summary["status"], summary["stopped_by"], summary["lost_learners"]) == ("failed", "failed", 1)
    assert summary["time_to_target"] is None and 0 < summary["gradients"] < 32
    assert "hardsync stops the run" in summary["runtime"]["error"]
