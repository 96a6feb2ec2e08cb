"""`rudra sweep`: a grid of simulated points, each its own run directory, one index.csv in grid order;
invalid and failing points are rows with their reason; a rerun reruns nothing that finished; a Dask
cluster gives the same index and run directories as local processes."""
import csv
import json
import multiprocessing
import tomllib
from pathlib import Path

import pytest

from rudra.cli import main
from rudra.config import parse
from rudra.sweep import DAEMON_WORKER, Outcome, finished_summary, run_point

# Tiny on purpose: a point simulates one epoch of 512 / 32 = 16 gradients (milliseconds), so a sweep costs
# its worker processes' start-up, not simulation.
TINY = """
[experiment]
name = "tiny"

[protocol]
name = "softsync"
learners = 4
n = 1

[train]
minibatch = 32
epochs = 1

[model]
name = "mlp"
hidden = [8]

[data]
name = "synthetic"
samples = 512
test_samples = 64
features = 8

[cluster]
sample_seconds = 0.00003125  # 1 ms at μ = 32; the sweep varies μ, so a law, not one measured time
latency = 0.0001
"""
GRID = ["--vary", "protocol.learners=1,2,4,8,16,32", "--vary", "protocol.n=1,4,16"]  # 18 points, 6 with n > λ


def sweep(tmp: Path, out: str, *args: str) -> int:
    exp = tmp / "tiny.toml"
    exp.write_text(TINY)
    return main(["sweep", str(exp), "--out", str(tmp / out), "--workers", "2", *args])


def index(folder: Path) -> list[dict]:
    with (folder / "index.csv").open() as f:
        return list(csv.DictReader(f))


def stamps(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.glob("*/run.json"))}


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    assert sweep(tmp, "grid", *GRID) == 0
    return tmp


def test_every_point_is_a_row_in_grid_order_and_invalid_ones_say_why(grid):
    rows = index(grid / "grid")
    assert [(r["protocol.learners"], r["protocol.n"]) for r in rows] == \
        [(str(lam), str(n)) for lam in (1, 2, 4, 8, 16, 32) for n in (1, 4, 16)]
    assert list(rows[0])[:2] == ["protocol.learners", "protocol.n"]  # the varied keys come first
    for column in ("protocol.name", "train.minibatch", "protocol.lr_policy", "mode", "status", "reason", "seconds",
                   "seconds_per_epoch", "time_to_target", "gradients_per_second", "updates_per_second",
                   "staleness.mean", "staleness.p99", "test_error", "speedup", "run_dir"):
        assert column in rows[0]
    invalid = [r for r in rows if r["status"] == "invalid"]
    assert len(invalid) == 6 and all(int(r["protocol.n"]) > int(r["protocol.learners"]) for r in invalid)
    row = next(r for r in invalid if (r["protocol.learners"], r["protocol.n"]) == ("4", "16"))
    assert row["reason"] == "protocol.n = 16: allowed 1 <= n <= learners (4)"
    assert row["run_dir"] == "" and row["seconds"] == ""
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 12
    for r in ok:
        assert r["mode"] == "sim" and r["reason"] == "" and r["protocol.name"] == "softsync"
        run = json.loads((grid / "grid" / r["run_dir"] / "run.json").read_text())
        assert run["config"]["protocol"]["learners"] == int(r["protocol.learners"])
        assert float(r["gradients_per_second"]) == run["summary"]["gradients_per_second"]
        assert float(r["speedup"]) == run["summary"]["sim"]["speedup"]
    assert next(r for r in ok if r["protocol.learners"] == "4" and r["protocol.n"] == "4")["run_dir"] == \
        "learners-4_n-4"


def test_the_same_command_again_reruns_nothing(grid, capsys):
    before, text = stamps(grid / "grid"), (grid / "grid" / "index.csv").read_text()
    capsys.readouterr()
    assert sweep(grid, "grid", *GRID) == 0
    assert "12 ok (12 finished before, not rerun), 6 invalid, 0 failed" in capsys.readouterr().out
    assert stamps(grid / "grid") == before and len(before) == 12
    assert (grid / "grid" / "index.csv").read_text() == text


def test_a_point_whose_config_changed_runs_again(tmp_path, capsys):
    args = ["--vary", "protocol.learners=2,4"]
    assert sweep(tmp_path, "s", *args) == 0
    assert sweep(tmp_path, "s", "--set", "train.epochs=2", *args) == 0
    assert "2 ok, 0 invalid" in capsys.readouterr().out.splitlines()[-1]
    assert all(json.loads((tmp_path / "s" / r["run_dir"] / "run.json").read_text())["config"]["train"]["epochs"]
               == 2 for r in index(tmp_path / "s"))


@pytest.mark.parametrize("mode, reused", [("train", True), ("simulate", False)])
def test_a_new_profile_makes_simulated_points_stale_but_not_real_ones(tmp_path, mode, reused):
    """A real run reads neither [cluster] nor [sim]: a finished one is kept when only they changed (a new
    calibration profile must not rerun every real point), while a simulated one runs again."""
    config = {"protocol": {"learners": 2}, "cluster": {"latency": 0.001}, "sim": {"trace": "full"}}
    (tmp_path / "run.json").write_text(json.dumps({"config": config, "summary": {"status": "finished"}}))
    changed = {**config, "cluster": {"latency": 0.002, "profile": "p.toml"}, "sim": {"trace": "summary"}}
    assert (finished_summary(tmp_path, changed, mode) is not None) == reused
    assert finished_summary(tmp_path, {**config, "protocol": {"learners": 4}}, mode) is None


def test_a_profile_is_every_points_cluster(tmp_path):
    """--profile merges a calibration profile into each point's [cluster], as simulate --profile does."""
    (tmp_path / "prof.toml").write_text("[cluster]\nlatency = 0.0007\n")
    assert sweep(tmp_path, "s", "--profile", str(tmp_path / "prof.toml"), "--vary", "protocol.learners=2,4") == 0
    clusters = [json.loads((tmp_path / "s" / r["run_dir"] / "run.json").read_text())["config"]["cluster"]
                for r in index(tmp_path / "s")]
    assert [(c["latency"], c["profile"]) for c in clusters] == [(0.0007, str(tmp_path / "prof.toml"))] * 2


def test_varying_the_protocol_keeps_only_the_settings_each_protocol_reads(tmp_path, capsys):
    assert sweep(tmp_path, "s", "--set", "protocol.max_staleness=3", "--vary", "protocol.name=hardsync,softsync,async",
                 "--vary", "protocol.n=1,2") == 0
    out = capsys.readouterr().out
    assert "protocol.name varies: a point keeps only the settings its protocol reads" in out
    rows = index(tmp_path / "s")  # hardsync and async with n = 1 and n = 2 are one experiment each
    assert [(r["protocol.name"], r["protocol.n"], r["status"]) for r in rows] == [
        ("hardsync", "", "ok"), ("softsync", "1", "ok"), ("softsync", "2", "ok"), ("async", "", "ok")]
    assert [r["run_dir"] for r in rows] == ["name-hardsync", "name-softsync_n-1", "name-softsync_n-2", "name-async"]
    configs = [json.loads((tmp_path / "s" / r["run_dir"] / "run.json").read_text())["config"]["protocol"]
               for r in rows]
    assert [c.get("max_staleness") for c in configs] == [None, 3, 3, 3]


def test_zip_varies_lists_together(tmp_path, capsys):
    assert sweep(tmp_path, "s", "--zip", "protocol.learners=1,2,4", "--vary", "protocol.lr_policy=constant,per-gradient",
                 "--zip", "train.minibatch=128,64,32") == 0
    rows = index(tmp_path / "s")
    assert list(rows[0])[:3] == ["protocol.learners", "train.minibatch", "protocol.lr_policy"]
    assert [(r["protocol.learners"], r["train.minibatch"], r["protocol.lr_policy"]) for r in rows] == [
        (lam, mu, lr) for lam, mu in (("1", "128"), ("2", "64"), ("4", "32")) for lr in ("constant", "per-gradient")]
    assert all(r["status"] == "ok" for r in rows)
    capsys.readouterr()
    assert sweep(tmp_path, "t", "--zip", "protocol.learners=1,2", "--zip", "train.minibatch=8") == 2
    err = capsys.readouterr().err
    assert err == ("rudra: --zip lists must have one length to be varied together: protocol.learners has 2, "
                   "train.minibatch has 1\n")


def test_a_point_that_fails_while_running_is_a_row_and_the_sweep_goes_on(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "learners-2").write_text("a file where the point's run directory should go")
    assert sweep(tmp_path, "s", "--vary", "protocol.learners=1,2,4") == 0
    rows = index(tmp_path / "s")
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert rows[1]["reason"].startswith("FileExistsError: ") and "\n" not in rows[1]["reason"]
    assert rows[1]["run_dir"] == "learners-2" and rows[1]["seconds"] == ""


def test_a_real_point_on_a_daemonic_worker_fails_saying_how_to_start_the_workers(tmp_path, monkeypatch):
    # Dask's worker processes are daemonic by default, and a daemonic process may not start the learners
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    exp = parse(tomllib.loads(TINY))
    assert run_point(exp, "train", str(tmp_path / "p")) == Outcome("failed", DAEMON_WORKER)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("args, message", [
    (["--vary", "protocol.learners"], "--vary 'protocol.learners': allowed the form section.key=V1,V2,..."),
    (["--vary", "cluser.latency=1,2"], "--vary 'cluser.latency=1,2': [cluser] is not a section: allowed"),
    (["--vary", "protocol.n=1,,2"], "--vary/--zip values '1,,2': allowed a comma-separated list without empty"),
    (["--vary", "protocol.n=1", "--zip", "protocol.n=2"], "--zip 'protocol.n=2': protocol.n is varied twice"),
    ([], "sweep: give at least one --vary KEY=V1,V2,... (or --zip) to make a grid"),
])
def test_a_malformed_grid_is_one_line(tmp_path, capsys, args, message):
    assert sweep(tmp_path, "s", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rudra: {message}") and err.count("\n") == 1


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_index_and_run_directories(tmp_path):
    psutil = pytest.importorskip("psutil")
    distributed = pytest.importorskip("distributed")
    assert sweep(tmp_path, "local", *GRID) == 0
    # everything on 127.0.0.1, the scheduler's HTTP server included (its default binds every interface)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        assert sweep(tmp_path, "dask", *GRID, "--dask", cluster.scheduler_address) == 0
    leftover = [p for p in psutil.Process().children(recursive=True)
                if "multiprocessing" not in " ".join(p.cmdline())]  # the interpreter's resource tracker stays
    assert leftover == []
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert (local / "index.csv").read_text() == (dask / "index.csv").read_text()
    files = sorted(str(p.relative_to(local)) for p in local.glob("*/*"))
    assert files == sorted(str(p.relative_to(dask)) for p in dask.glob("*/*")) and len(files) > 12
    for name in files:
        a, b = (local / name).read_bytes(), (dask / name).read_bytes()
        if name.endswith("run.json"):  # wall-clock time is the one thing a rerun may change
            a, b = ({k: v for k, v in json.loads(x).items() if k != "wall_seconds"} for x in (a, b))
        assert a == b, name
