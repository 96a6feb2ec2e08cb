"""The same config runs under torchrun: two "nodes" (two torchrun launches on 127.0.0.1, --nnodes 2) with
roles by rank from the config, and `rudra train FILE` on one machine; both train and write one trace."""
import os
import socket
import subprocess
import sys

import pytest

from rudra.protocol import read_run_json

CONFIG = """
[experiment]
name = "torchrun"
seed = 3
[protocol]
name = "async"
learners = 3
lr_policy = "mean-staleness"
[train]
minibatch = 8
lr = 0.1
momentum = 0.5
epochs = 10
[model]
hidden = [32]
[data]
name = "digits"
[runtime]
timeout = 10.0
server_ranks = [{server}]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_all(procs, seconds):
    try:
        return [p.communicate(timeout=seconds) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_two_torchrun_nodes_on_loopback_train_one_run(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(CONFIG.format(server=3))  # the server is the last rank, on the second node
    out = tmp_path / "run"
    port = free_port()
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node",
                               "2", "--node-rank", str(node), "--master-addr", "127.0.0.1", "--master-port",
                               str(port), "-m", "rudra", "train", str(exp), "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
             for node in (0, 1)]
    outputs = wait_all(procs, 180)
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "trained torchrun" in outputs[1][0] and "trained torchrun" not in outputs[0][0]  # one process reports
    summary = read_run_json(out)["summary"]
    assert summary["status"] == "finished" and summary["lost_learners"] == 0
    assert summary["test_error"] < 0.1 and len(summary["learner_gradients"]) == 3


@pytest.mark.slow
def test_rudra_train_runs_locally_by_default(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(CONFIG.format(server=0))
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "rudra", "train", str(exp), "--out", str(out)], capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert read_run_json(out)["summary"]["test_error"] < 0.1
    r = subprocess.run([sys.executable, "-m", "rudra", "train", str(exp), "--out", str(tmp_path / "b"), "--set",
                        "runtime.device=cuda:7"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 2 and r.stderr.startswith("rudra: runtime.device = 'cuda:7'") and r.stderr.count("\n") == 1
