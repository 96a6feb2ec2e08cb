"""Calibration profiles: how a profile's [cluster] merges into an experiment (rudra/profile.py)."""
from pathlib import Path

import pytest

from rudra.config import ConfigError, load

EXPERIMENT = """
[protocol]
learners = 2
[train]
minibatch = 8
[cluster]
minibatch_seconds = 0.0003
minibatch_seconds_at = 8
latency = 0.001
"""
PROFILE = """
# measured on somewhere, 2026-11-29
[cluster]
compute_overhead = 0.0001
sample_seconds = 0.00002
latency = 0.0002
jitter_cv = 0.05
jitter_dist = "lognormal"
"""


@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "exp.toml").write_text(EXPERIMENT)
    (tmp_path / "prof.toml").write_text(PROFILE)
    return tmp_path


def test_a_command_line_profile_replaces_the_files_cluster_values_and_its_compute_law(files):
    """--profile wins over the file, and its law replaces the file's measured time (no mixing); --set wins over both."""
    c = load(files / "exp.toml", [], str(files / "prof.toml")).cluster
    assert (c.latency, c.jitter_cv, c.compute_overhead, c.sample_seconds) == (0.0002, 0.05, 0.0001, 0.00002)
    assert c.minibatch_seconds is None and c.minibatch_seconds_at is None
    assert c.profile == str(files / "prof.toml")
    assert load(files / "exp.toml", ["cluster.latency=0.5"], str(files / "prof.toml")).cluster.latency == 0.5


def test_a_profile_named_in_the_file_is_overridden_by_the_files_own_keys(files):
    """[cluster] profile = "prof.toml" (relative to the file) fills in what the file leaves out."""
    (files / "exp.toml").write_text(EXPERIMENT.replace("[cluster]\n", '[cluster]\nprofile = "prof.toml"\n'))
    c = load(files / "exp.toml").cluster
    assert (c.latency, c.jitter_cv, c.minibatch_seconds, c.sample_seconds) == (0.001, 0.05, 0.0003, None)


@pytest.mark.parametrize("text, says", [
    ("[cluster]\nprofile = 'other.toml'\n", "allowed only in an experiment file"),
    ("[cluster]\nlatency = 1.0\n[train]\nminibatch = 2\n", "one [cluster] table and nothing else"),
])
def test_a_file_that_is_not_a_profile_is_one_line(files, text, says):
    (files / "prof.toml").write_text(text)
    with pytest.raises(ConfigError) as e:
        load(files / "exp.toml", [], str(files / "prof.toml"))
    assert says in str(e.value) and "\n" not in str(e.value)


def test_a_missing_profile_is_one_line(files):
    with pytest.raises(ConfigError, match="no such file"):
        load(files / "exp.toml", [], str(files / "nowhere.toml"))
