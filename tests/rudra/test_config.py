"""Config: every bad value is one line naming the field; good configs round-trip through `rudra check`."""
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

BAD = [  # (TOML, field the message must name)
    ("[foo]\nx = 1", "[foo]"),
    ("[protocol]\nbogus = 1", "protocol.bogus"),
    ('[protocol]\nname = "sync"', "protocol.name"),
    ("[protocol]\nlearners = 0", "protocol.learners"),
    ('[protocol]\nlearners = "4"', "protocol.learners"),
    ("[protocol]\nlearners = 2.5", "protocol.learners"),
    ("[protocol]\nlearners = true", "protocol.learners"),
    ('[protocol]\nname = "softsync"\nlearners = 30\nn = 40', "protocol.n"),
    ('[protocol]\nname = "softsync"', "protocol.n"),
    ('[protocol]\nname = "async"\nn = 2', "protocol.n"),
    ('[protocol]\nname = "hardsync"\nmax_staleness = 3', "protocol.max_staleness"),
    ('[protocol]\nlr_policy = "adaptive"', "protocol.lr_policy"),
    ("[protocol]\nmax_staleness = 0", "protocol.max_staleness"),
    ('[protocol]\narchitecture = "adv2"', "protocol.architecture"),
    ('[protocol]\nshards = 2', "protocol.shards"),
    ('[protocol]\nname = "hardsync"\narchitecture = "adv*"', "protocol.architecture"),
    ('[protocol]\narchitecture = "adv"\nshards = 0', "protocol.shards"),
    ("[train]\nminibatch = 0", "train.minibatch"),
    ("[train]\nlr = -0.1", "train.lr"),
    ("[train]\nlr = 0", "train.lr"),
    ("[train]\nlr = nan", "train.lr"),
    ("[train]\nmomentum = 1.5", "train.momentum"),
    ("[train]\nweight_decay = -1", "train.weight_decay"),
    ("[train]\nepochs = 0", "train.epochs"),
    ("[train]\nlr_steps = [130, 120]", "train.lr_steps"),
    ('[train]\nlr_steps = "120"', "train.lr_steps"),
    ("[train]\nlr_steps = [-1]", "train.lr_steps"),
    ("[train]\nlr_gamma = 2", "train.lr_gamma"),
    ('[model]\nname = "resnet"', "model.name"),
    ("[model]\nhidden = [0]", "model.hidden"),
    ('[model]\nhidden = [64, "a"]', "model.hidden"),
    ('[data]\nname = "mnist"', "data.name"),
    ('[data]\nname = "synthetic"\nsamples = 0', "data.samples"),
    ('[data]\nsampling = "random"', "data.sampling"),
    ('[data]\nname = "digits"\npath = "/tmp"', "data.path"),
    ('[model]\nname = "small_cnn"\n[data]\nname = "digits"', "model.name"),
    ("[protocol]\nlearners = 3\n[cluster]\nspeeds = [1.0, 2.0]", "cluster.speeds"),
    ('[cluster]\njitter_dist = "gamma"', "cluster.jitter_dist"),
    ('[cluster]\njitter_dist = "normal"\njitter_cv = -1', "cluster.jitter_cv"),
    ("[cluster]\nlatency = -0.1", "cluster.latency"),
    ('[sim]\ntrace = "none"', "sim.trace"),
    ("[experiment]\nseed = -1", "experiment.seed"),
    ('[experiment]\nname = "a/b"', "experiment.name"),
    ("protocol = 3", "protocol"),
    ("[runtime]\nbogus = 1", "runtime.bogus"),
    ('[runtime]\nfault = "learner-exit"\nfault_target = 4', "runtime.fault_target"),
    ("[runtime]\nserver_ranks = [0, 1]", "runtime.server_ranks"),
    ("[protocol\nname = 1", "not valid TOML"),
]


def run_check(capsys, *args):
    code = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text,field", BAD, ids=[f for _, f in BAD])
def test_bad_config_is_one_line_naming_the_field(tmp_path, capsys, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    code, out, err = run_check(capsys, path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rudra: ")
    assert field in err
    assert "Traceback" not in err


def test_there_are_at_least_30_distinct_bad_configs():
    assert len({t for t, _ in BAD}) >= 30


def test_missing_file_is_one_line(tmp_path, capsys):
    code, _, err = run_check(capsys, tmp_path / "nope.toml")
    assert code == 2 and "no such file" in err and err.count("\n") == 1


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
