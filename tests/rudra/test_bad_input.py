"""Bad input, as a new user types it: every case exits 2 with exactly one line on stderr, no traceback,
and the line names the field or the path at fault.

The table has four parts: documents `rudra check` refuses (the issue's cases and every cross-field
rule), one wrong-type and one out-of-range value per field generated from the specs' metadata (a field
added later is covered without a new row), command lines beyond `check` (run directories, --resume,
--defaults), and settings only `rudra train` can judge against this machine (memory, threads, the data
set), which must be refused before any process starts. Most run in-process through rudra.cli.main; a
few go through a real subprocess to prove no traceback reaches the terminal.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
import tomli_w
import torch.multiprocessing

from rudra.cli import main
from rudra.config import SECTIONS, parse, to_dict

SMALL = """
[experiment]
name = "bad-input"
[protocol]
learners = 2
[train]
epochs = 0.05
[sim]
speedup = false
"""

# --- documents `rudra check` refuses: (TOML, what the line must name) -------------------------------------

DOCUMENTS = [
    # the cases
    ("[protocol]\nlearners = 1000000000", "protocol.learners"),
    (f"[protocol]\nlearners = {2**70}", "protocol.learners"),
    (f"[experiment]\nseed = {2**64}", "experiment.seed"),
    ("", "bad.toml"),
    ("# only a comment\n", "bad.toml"),
    ('[experiment]\nname = ".."', "experiment.name"),
    # names and paths that would escape `out` or that no file system takes
    ('[experiment]\nname = "."', "experiment.name"),
    ('[experiment]\nname = ""', "experiment.name"),
    ('[experiment]\nname = "a/b"', "experiment.name"),
    ('[experiment]\nname = "../up"', "experiment.name"),
    ('[experiment]\nname = "tab\\there"', "experiment.name"),
    ('[experiment]\nname = "nul\\u0000"', "experiment.name"),
    (f'[experiment]\nname = "{"n" * 256}"', "experiment.name"),
    ('[experiment]\nout = ""', "experiment.out"),
    ('[experiment]\nout = "runs\\u0000x"', "experiment.out"),
    ('[data]\nname = "cifar10"\npath = "a\\u0000b"', "data.path"),
    ('[runtime]\ndevice = "cpu\\u0000"', "runtime.device"),
    # integers TOML cannot hold, wherever they are
    (f"[train]\nlr = {2**64}", "train.lr"),
    (f"[model]\nhidden = [64, {2**63}]", "model.hidden[1]"),
    (f"[runtime]\nport = -{2**63 + 1}", "runtime.port"),
    ("[runtime]\nserver_ranks = [0x" + "f" * 3000 + "]", "runtime.server_ranks[0]"),
    ("[protocol]\nlearners = " + "9" * 5000, "not valid TOML"),
    ("[protocol]\nlearners = " + "[" * 5000 + "]" * 5000, "not valid TOML"),
    # values of a type TOML has but no field takes
    ("[protocol]\nlearners = 1979-05-27", "protocol.learners"),
    ("[train]\nlr = 07:32:00", "train.lr"),
    ("[protocol]\nlearners = {a = 1}", "protocol.learners"),
    ("[model]\nhidden = [[1]]", "model.hidden"),
    ("[protocol.deeper]\nx = 1", "protocol.deeper"),
    ("[[protocol]]\nlearners = 2", "protocol"),
    ("learners = 4", "[learners]"),
    ('[protocol]\n"two\\nlines" = 1', "protocol.'two\\nlines'"),
    ('"" = {}', "['']"),
    ('"\\u2028" = {}', "['\\u2028']"),
    ("[protocol]\nlearners = inf", "protocol.learners"),
    ("[train]\nepochs = inf", "train.epochs"),
    ("[train]\nmomentum = -nan", "train.momentum"),
    # cross-field rules, one row each
    ('[protocol]\nname = "softsync"\nlearners = 4\nn = 5', "protocol.n"),
    ('[protocol]\nmax_staleness = 0', "protocol.max_staleness"),
    ('[protocol]\narchitecture = "adv"\nshards = 2000', "protocol.shards"),
    ('[protocol]\narchitecture = "base"\n[cluster]\nfan_in = 2', "cluster.fan_in"),
    ('[protocol]\nlearners = 2\n[cluster]\nspeeds = [1.0, 1.0]\nspeed_dist = "normal"\nspeed_cv = 0.1',
     "cluster.speed_dist"),
    ('[cluster]\nspeed_dist = "normal"', "cluster.speed_cv"),
    ('[cluster]\nupdate_cv = 0.5', "cluster.update_cv"),
    ('[cluster]\njitter_dist = "exponential"\njitter_cv = 1.5', "cluster.jitter_cv"),
    ("[cluster]\ncompute_inflation = [1.2, 1.5]", "cluster.compute_inflation"),
    ("[cluster]\nexchange_inflation = [1.5, 2.0]", "cluster.exchange_inflation"),
    ("[cluster]\nsample_inflation = [1.2, 1.5]", "cluster.sample_inflation"),
    ("[cluster]\nminibatch_seconds = 0.01\nminibatch_seconds_at = 8\nsample_inflation = [1.0, 1.5]",
     "cluster.sample_inflation"),
    ("[cluster]\nexchange_inflation = [1.0, 0.5]", "cluster.exchange_inflation"),
    ("[cluster]\ncold_idle = [0.001, 0.002]\ncold_seconds = [0.0]", "cluster.cold_seconds"),
    ("[cluster]\ncold_idle = [0.002, 0.001]\ncold_seconds = [0.0, 0.001]", "cluster.cold_idle"),
    ("[cluster]\ncold_idle = [0.001, 0.002]\ncold_seconds = [0.001, 0.002]", "cluster.cold_seconds"),
    ("[cluster]\nramp_until = [20, 50]\nramp_seconds = [0.001]", "cluster.ramp_seconds"),
    ("[cluster]\nramp_until = [50, 20]\nramp_seconds = [0.001, 0.0]", "cluster.ramp_until"),
    ("[cluster]\nramp_until = [0]\nramp_seconds = [0.001]", "cluster.ramp_until"),
    ("[cluster]\nramp_until = [20]\nramp_seconds = [0.001]\nramp_sample_seconds = [0.0, 0.0]",
     "cluster.ramp_sample_seconds"),
    ("[train]\nlr_steps = [5, 5]", "train.lr_steps"),
    ('[model]\nname = "mlp"\nwidth = 0.5', "model.width"),
    ('[model]\nname = "small_cnn"\nhidden = [8]\n[data]\nname = "synthetic"', "model.hidden"),
    ('[model]\nlrn = false', "model.lrn"),
    ('[model]\nname = "alexnet_style"\n[data]\nname = "synthetic"\nimage_size = 8', "model.name"),
    ('[model]\nname = "alexnet_style"\n[data]\nname = "cifar10"', "model.name"),
    ('[model]\nname = "alexnet_style"\n[data]\nname = "digits"\nshape = "image"', "model.name"),
    ('[model]\nname = "cifar10_full"\n[data]\nname = "synthetic"\nshape = "flat"', "model.name"),
    ('[data]\nname = "cifar10"\nshape = "flat"', "data.shape"),
    ('[data]\nname = "synthetic"\npath = "/tmp"', "data.path"),
    ('[runtime]\ndevice = "gpu"', "runtime.device"),
    ('[runtime]\ndevice = "cuda:x"', "runtime.device"),
    ('[runtime]\nserver_ranks = [0, 0]', "runtime.server_ranks"),
    ('[protocol]\nlearners = 2\n[runtime]\nserver_ranks = [5]', "runtime.server_ranks"),
    ('[runtime]\nfault_after = 9', "runtime.fault_after"),
    ('[runtime]\nfault_target = 1', "runtime.fault_target"),
    ('[runtime]\nfault = "server-exit"\nfault_target = 1', "runtime.fault_target"),
    # folded in from tests/rudra/test_config.py
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
    ("protocol = 3", "protocol"),
    ("[runtime]\nbogus = 1", "runtime.bogus"),
    ('[runtime]\nfault = "learner-exit"\nfault_target = 4', "runtime.fault_target"),
    ("[runtime]\nserver_ranks = [0, 1]", "runtime.server_ranks"),
    ("[protocol\nname = 1", "not valid TOML"),
]

# --- per field, from the specs' metadata: a wrong type and each bound crossed ------------------------------

_WRONG_TYPE = {int: "many", float: "fast", str: 7, bool: "yes", tuple: "1, 2"}


def _base(hint) -> type:
    """The field's type without `| None`, tuples as `tuple`."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    hint = args[0] if isinstance(hint, types.UnionType) else hint
    return typing.get_origin(hint) or hint


def _crossed(meta: dict, kind: type) -> list[tuple[str, object]]:
    """(label, value) just outside each bound the metadata states."""
    out = []
    if "choices" in meta:
        out.append(("choice", "bogus"))
    if "min" in meta:
        out.append(("min", meta["min"] - 1))
    if "gt" in meta:
        out.append(("gt", meta["gt"]))
    if "max" in meta:
        out.append(("max", meta["max"] + 1))
    if kind is tuple and meta.get("each"):
        out += [(f"each-{label}", [value]) for label, value in _crossed(meta["each"], int)]
    return out


def _per_field() -> list[tuple[str, str, str]]:
    cases = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kind = _base(hints[f.name])
            where = f"{section}.{f.name}"
            cases.append((f"{where}-type", tomli_w.dumps({section: {f.name: _WRONG_TYPE[kind]}}), where))
            for label, value in _crossed(f.metadata, kind):
                cases.append((f"{where}-{label}", tomli_w.dumps({section: {f.name: value}}), where))
        cases.append((f"{section}-unknown-key", f"[{section}]\nno_such_setting = 1\n", f"{section}.no_such_setting"))
        cases.append((f"{section}-not-a-table", f"{section} = 1\n", section))
    return cases


DOC_CASES = [(f"doc{i}:{field}", text, field) for i, (text, field) in enumerate(DOCUMENTS)] + _per_field()

# --- command lines beyond `check`: (id, argv, what the line must name) ----------------------------------------
# {good} is a small valid experiment, {tmp} the test's folder (see the `home` fixture for what it holds);
# a tuple names several things the line must hold.

COMMANDS = [
    ("check --defaults FILE", ["check", "--defaults", "{good}"], "--defaults"),
    ("check --defaults --set", ["check", "--defaults", "--set", "protocol.learners=2"], "--defaults"),
    ("check without FILE", ["check"], "FILE"),
    ("check missing FILE", ["check", "{tmp}/nope.toml"], "{tmp}/nope.toml"),
    ("check FILE is a folder", ["check", "{tmp}"], "{tmp}"),
    ("check FILE not UTF-8", ["check", "{tmp}/latin1.toml"], "{tmp}/latin1.toml"),
    ("--set without =", ["check", "{good}", "--set", "protocol.learners"], "--set"),
    ("--set without section", ["check", "{good}", "--set", "learners=4"], "--set"),
    ("--set on a non-table", ["check", "{tmp}/scalar.toml", "--set", "protocol.learners=4"], "--set"),
    ("--set unknown section", ["check", "{good}", "--set", "cluser.latency=1"], "[cluser]"),
    ("--set name ..", ["check", "{good}", "--set", "experiment.name=.."], "experiment.name"),
    ("--set huge literal", ["check", "{good}", "--set", "protocol.learners=" + "9" * 5000], "protocol.learners"),
    ("--set deep nesting", ["check", "{good}", "--set", "model.hidden=" + "[" * 5000], "model.hidden"),
    ("--set seed 2**64", ["check", "{good}", "--set", f"experiment.seed={2**64}"], "experiment.seed"),
    ("simulate learners 1e9", ["simulate", "{good}", "--set", "protocol.learners=1000000000"], "protocol.learners"),
    ("simulate learners 2**70", ["simulate", "{good}", "--set", f"protocol.learners={2**70}"], "protocol.learners"),
    ("simulate empty FILE", ["simulate", "{tmp}/empty.toml"], "{tmp}/empty.toml"),
    ("simulate out /proc", ["simulate", "{good}", "--set", "experiment.out=/proc/rudra"], "/proc/rudra"),
    ("simulate --out afile/run", ["simulate", "{good}", "--out", "{tmp}/afile/run"], "{tmp}/afile/run"),
    ("simulate --out afile", ["simulate", "{good}", "--out", "{tmp}/afile"], "{tmp}/afile"),
    ("simulate --out read-only new", ["simulate", "{good}", "--out", "{tmp}/ro/new/run"], "{tmp}/ro/new/run"),
    ("simulate --out read-only existing", ["simulate", "{good}", "--out", "{tmp}/ro"], "{tmp}/ro"),
    ("simulate --out with a line break", ["simulate", "{good}", "--out", "{tmp}/afile/two\nlines"], "two\\nlines"),
    ("simulate out under a file", ["simulate", "{good}", "--set", "experiment.out={tmp}/afile"], "{tmp}/afile"),
    ("train seed 2**64", ["train", "{good}", "--set", f"experiment.seed={2**64}"], "experiment.seed"),
    ("train learners 1e9", ["train", "{good}", "--set", "protocol.learners=1000000000"], "protocol.learners"),
    ("train out /proc", ["train", "{good}", "--set", "experiment.out=/proc/rudra"], "/proc/rudra"),
    ("train --out afile/run", ["train", "{good}", "--out", "{tmp}/afile/run"], "{tmp}/afile/run"),
    ("train --out read-only", ["train", "{good}", "--out", "{tmp}/ro/run"], "{tmp}/ro/run"),
    ("train without FILE", ["train"], "FILE"),
    ("train onto a run", ["train", "{good}", "--out", "{tmp}/finished"], ("{tmp}/finished", "holds a run")),
    ("train FILE --resume", ["train", "{good}", "--resume", "{tmp}/unfinished"], "--resume"),
    ("train --resume --set", ["train", "--resume", "{tmp}/unfinished", "--set", "protocol.learners=2"], "--resume"),
    ("train --resume --out", ["train", "--resume", "{tmp}/unfinished", "--out", "{tmp}/x"], "--resume"),
    ("train --resume --force", ["train", "--resume", "{tmp}/unfinished", "--force"], "--resume"),
    ("resume nothing there", ["train", "--resume", "{tmp}/nothing"], "{tmp}/nothing"),
    ("resume a file", ["train", "--resume", "{tmp}/afile"], "{tmp}/afile"),
    ("resume finished", ["train", "--resume", "{tmp}/finished"], ("{tmp}/finished", "finished already")),
    ("resume simulator run", ["train", "--resume", "{tmp}/simulated"], ("{tmp}/simulated", "simulator run")),
    ("resume run.json not JSON", ["train", "--resume", "{tmp}/garbage"], "{tmp}/garbage"),
    ("resume run.json no config", ["train", "--resume", "{tmp}/noconfig"], "{tmp}/noconfig"),
    ("resume run.json bad config", ["train", "--resume", "{tmp}/badconfig"], "protocol.learners"),
    ("demo --out /proc", ["demo", "--out", "/proc/rudra"], "/proc/rudra"),
    ("demo --out afile", ["demo", "--out", "{tmp}/afile/demo"], "{tmp}/afile/demo"),
    ("demo --out read-only", ["demo", "--out", "{tmp}/ro/demo"], "{tmp}/ro/demo"),
]

# --- only `rudra train` can judge these, against this machine; refused before any process starts ---------

MACHINE = [  # (id, overrides of {good}, words one of which the line must hold)
    ("minibatch 1e9", ["train.minibatch=1000000000"], ("minibatch",)),
    ("hidden 1e9", ["model.hidden=[1000000000]"], ("hidden",)),
    ("synthetic samples 1e12", ["data.name=synthetic", "data.samples=1000000000000"], ("samples",)),
    ("threads 1e6", ["runtime.threads=1000000"], ("threads",)),
    ("learners 1e5 on this machine", ["protocol.learners=100000"], ("learners",)),
    ("image_folder one image per class",
     ["data.name=image_folder", "data.path={tmp}/one_per_class", "model.name=small_cnn", "data.image_size=8"],
     ("one_per_class", "test")),
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A folder holding the files the commands above name; the working directory for the test."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.toml").write_text(SMALL)
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "scalar.toml").write_text("protocol = 3\n")
    (tmp_path / "latin1.toml").write_bytes('[experiment]\nname = "café"\n'.encode("latin-1"))
    (tmp_path / "afile").write_text("not a folder\n")
    config = to_dict(parse({}))
    run_json = {
        "finished": {"kind": "real", "config": config, "status": "finished", "stopped_by": "epochs"},
        "unfinished": {"kind": "real", "config": config, "summary": {"status": "running"}},
        "simulated": {"kind": "sim", "config": config, "status": "finished"},
        "noconfig": {"kind": "real"},
        "badconfig": {"kind": "real", "config": {"protocol": {"learners": 0}}},
    }
    for name, info in run_json.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps(info))
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "run.json").write_text("{not json")
    for label in ("a", "b"):  # one image per class: nothing left for a test set
        (tmp_path / "one_per_class" / label).mkdir(parents=True)
        _tiny_png(tmp_path / "one_per_class" / label / "1.png")
    _read_only(tmp_path / "ro", monkeypatch)
    return tmp_path


def _tiny_png(path: Path) -> None:
    from PIL import Image
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)


def _read_only(root: Path, monkeypatch) -> None:
    """Make `root` (which exists) behave as a read-only file system: creating under it fails with EROFS and
    access(2) denies writing. Tests run as root here, whom chmod would not stop."""
    root.mkdir()
    real_mkdir, real_access = Path.mkdir, os.access

    def under(path) -> bool:
        return Path(path).absolute().is_relative_to(root)

    def mkdir(self, mode=0o777, parents=False, exist_ok=False):
        if under(self) and not self.is_dir():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, mode, parents, exist_ok)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if under(path) and mode & os.W_OK
                        else real_access(path, mode, **kw))


def refused(capsys, argv: list[str]) -> str:
    """Run the CLI in-process; assert exit 2, nothing on stdout, one line on stderr, and return the line."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\nstdout: {out[-500:]}\nstderr: {err[-500:]}"
    assert out == ""
    assert err.startswith("rudra: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("text,field", [c[1:] for c in DOC_CASES], ids=[c[0] for c in DOC_CASES])
def test_check_refuses_a_bad_document(home, capsys, text, field):
    path = home / "bad.toml"
    path.write_text(text + "\n")
    assert field in refused(capsys, ["check", str(path)])


@pytest.mark.parametrize("argv,named", [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_command_line_refused(home, capsys, argv, named):
    fill = {"good": home / "good.toml", "tmp": home}
    err = refused(capsys, [a.format(**fill) for a in argv])
    for part in (named,) if isinstance(named, str) else named:
        assert part.format(**fill) in err


@pytest.mark.parametrize("overrides,named", [c[1:] for c in MACHINE], ids=[c[0] for c in MACHINE])
def test_train_refuses_what_this_machine_cannot_run_before_starting_processes(home, capsys, monkeypatch,
                                                                              overrides, named):
    def no_processes(*args, **kwargs):
        raise AssertionError("rudra train started processes for a run it should have refused")

    monkeypatch.setattr(torch.multiprocessing, "get_context", no_processes)
    sets = [x for o in overrides for x in ("--set", o.format(tmp=home))]
    err = refused(capsys, ["train", str(home / "good.toml"), *sets])
    assert any(word in err for word in named), err


def test_the_table_holds_at_least_100_distinct_cases():
    texts = {text for _, text, _ in DOC_CASES}
    argvs = {tuple(argv) for _, argv, _ in COMMANDS}
    assert len(texts) + len(argvs) + len(MACHINE) >= 100


@pytest.mark.parametrize("argv,named", [
    (["check", "{tmp}/empty.toml"], "{tmp}/empty.toml"),
    (["check", "{good}", "--set", f"protocol.learners={2**70}"], "protocol.learners"),
    (["simulate", "{good}", "--out", "{tmp}/afile/run"], "{tmp}/afile/run"),
    (["simulate", "{good}", "--set", "experiment.out=/proc/rudra"], "/proc/rudra"),
    (["train", "--resume", "{tmp}/finished"], "{tmp}/finished"),
], ids=["empty", "learners 2**70", "out under a file", "out in /proc", "resume finished"])
def test_a_real_terminal_sees_one_line_and_no_traceback(home, argv, named):
    fill = {"good": home / "good.toml", "tmp": home}
    r = subprocess.run([sys.executable, "-m", "rudra", *(a.format(**fill) for a in argv)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert named.format(**fill) in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_a_folder_without_write_permission_is_one_line(home, capsys):
    locked = home / "locked"
    locked.mkdir(mode=0o500)
    assert str(locked) in refused(capsys, ["simulate", str(home / "good.toml"), "--out", str(locked / "run")])


@pytest.mark.slow
def test_resume_of_a_run_that_finished_says_so_and_trains_nothing(tmp_path, capsys):
    """A real finished run (λ = 1, a fraction of an epoch, checkpoints on) is not run again."""
    out = tmp_path / "run"
    (tmp_path / "good.toml").write_text(SMALL)
    sets = ["--set", "protocol.learners=1", "--set", "runtime.checkpoint_every=5"]
    assert main(["train", str(tmp_path / "good.toml"), "--out", str(out), *sets]) == 0
    capsys.readouterr()
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob("*"))
    assert "finished already" in refused(capsys, ["train", "--resume", str(out)])
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob("*")) == before
