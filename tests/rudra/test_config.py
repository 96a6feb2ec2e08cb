"""Config: good configs round-trip through `rudra check`, overrides apply, every setting is listed.
Bad configs, each refused in one line naming the field, are the table in test_bad_input.py."""
import tomllib
from pathlib import Path

import pytest

from rudra.cli import main
from rudra.config import Experiment, parse, to_toml

GOOD = """
[experiment]
name = "t"
seed = 3

[protocol]
name = "softsync"
learners = 30
n = 5
lr_policy = "per-gradient"

[train]
minibatch = 4
lr = 0.001
lr_steps = [120, 130]
epochs = 140

[model]
name = "cifar10_full"

[data]
name = "synthetic"
shape = "image"

[cluster]
jitter_dist = "lognormal"
jitter_cv = 0.1
"""


def run_check(capsys, *args):
    code = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_good_config_round_trips_through_check(tmp_path, capsys):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    code, out, _ = run_check(capsys, path)
    assert code == 0
    first = parse(tomllib.loads(out))
    assert first == parse(tomllib.loads(GOOD))
    assert first.train.lr_steps == (120.0, 130.0) and first.protocol.n == 5
    path.write_text(out)
    code, again, _ = run_check(capsys, path)
    assert again == out


def test_defaults_fill_every_section():
    exp = parse({})
    assert exp == Experiment()
    assert "[runtime]" in to_toml(exp) and "[cluster]" in to_toml(exp)


@pytest.mark.parametrize("setting", [
    "protocol.learners=1000000", f"experiment.seed={2**63 - 1}", "experiment.name='λ sweep (v2)'",
    "experiment.name='.hidden'", f"experiment.name='{'n' * 255}'", "protocol.architecture='adv'",
])
def test_settings_at_the_edge_of_what_is_allowed_pass(tmp_path, capsys, setting):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    extra = ["--set", "protocol.shards=1024"] if "architecture" in setting else []
    code, _, err = run_check(capsys, path, "--set", setting, *extra)
    assert code == 0, err


def test_set_overrides_a_setting(tmp_path, capsys):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    code, out, _ = run_check(capsys, path, "--set", "protocol.learners=60", "--set", "protocol.name=softsync")
    assert code == 0 and parse(tomllib.loads(out)).protocol.learners == 60
    code, _, err = run_check(capsys, path, "--set", "protocol.learners=0")
    assert code == 2 and "protocol.learners = 0" in err
    code, out, _ = run_check(capsys, path, "--set", "protocol.name=async", "--set", "protocol.n=")
    assert code == 0 and parse(tomllib.loads(out)).protocol.n is None
    code, _, err = run_check(capsys, path, "--set", "protocol.name=async")
    assert code == 2 and "protocol.n = 5" in err


def test_check_defaults_lists_every_setting(capsys):
    assert main(["check", "--defaults"]) == 0
    out = capsys.readouterr().out
    for key in ("[protocol]", "# max_staleness = (left out)", "# lr_policy = \"constant\"", "[cluster]"):
        assert key in out


@pytest.mark.parametrize("example", sorted(Path(__file__).parents[2].glob("examples/*.toml")), ids=lambda p: p.name)
def test_shipped_examples_are_valid(capsys, example):
    code, _, err = run_check(capsys, example)
    assert code == 0, err
