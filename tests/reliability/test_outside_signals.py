"""What a user's machine can do to a local run from outside, and what the run must then do.

  * SIGSTOP the server: `rudra train` ends within 2 × runtime.timeout, one line naming the server;
  * no socket of the run listens outside 127.0.0.1;
  * SIGKILL the server, SIGINT the launcher: run.json says how the run ended (failed / interrupted, with
    the reason) and the trace agrees with itself: every update with all its gradient rows, no gradient
    row without its update, histograms that count those rows;
  * SIGTERM or SIGKILL the launcher: no process of the run is left.
"""
import os
import signal
import time
from pathlib import Path

import pytest

from rudra.protocol import read_run_json
from rudra.runtime.processes import descendants

from .conftest import rows

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from Linux /proc")]
EXIT = 30.0  # seconds a run may take to exit once told to end; far above the ≈ 1 s it takes here


def assert_trace_agrees_with_itself(out):
    updates, grads = rows(out / "updates.csv"), rows(out / "gradients.csv")
    assert updates, "the run was killed before it traced an update"
    assert [int(u["version"]) for u in updates] == list(range(1, len(updates) + 1))
    per_update = {}
    for g in grads:
        per_update[int(g["applied_version"]) + 1] = per_update.get(int(g["applied_version"]) + 1, 0) + 1
    assert per_update == {int(u["version"]): int(u["n_gradients"]) for u in updates}
    assert sum(int(r["count"]) for r in rows(out / "staleness.csv")) == len(grads)
    assert sum(int(r["gradients"]) for r in rows(out / "learners.csv")) == len(grads)
    run = read_run_json(out)
    assert run["gradients"] == len(grads) and run["updates"] == len(updates)
    return run


def test_a_stopped_server_ends_the_run_within_twice_the_timeout(start):
    """The launcher names a server with no heartbeat for one timeout; its learners would give up at 2 ×."""
    run = start(timeout=10.0)
    server = run.serving()["shard0"]
    os.kill(server, signal.SIGSTOP)
    stopped = time.monotonic()
    code, err = run.end(within=EXIT)
    # 10 s without a heartbeat, at most 1 s between the launcher's looks, then killing, settling the trace and
    # the interpreter's exit (2–4.5 s measured here under load): 4.5 s to spare within 2 × 10 s.
    assert time.monotonic() - stopped < 2 * run.timeout
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("rudra: server shard 0 (rank 0) is stopped"), err
    assert read_run_json(run.out)["status"] == "failed"
    assert run.left_over(within=run.timeout) == []


def test_no_socket_of_a_local_run_listens_beyond_loopback(start):
    run = start()
    run.serving()
    inodes = set()
    for pid in [run.proc.pid, *descendants(run.proc.pid)]:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue  # closed meanwhile
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    listening.append(fields[1].rpartition(":")[0])
    os.kill(run.proc.pid, signal.SIGTERM)
    assert listening, "found no listening socket of the run (the rendezvous store must have one)"
    loopback = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}
    assert set(listening) <= loopback, listening  # 127.0.0.1, ::1, ::ffff:127.0.0.1 as the kernel writes them
    assert run.end(within=EXIT)[0] == 128 + signal.SIGTERM


def test_a_killed_server_leaves_a_failed_run_whose_trace_agrees_with_itself(start):
    run = start()
    os.kill(run.serving(evaluations=10)["shard0"], signal.SIGKILL)
    code, err = run.end(within=EXIT)
    why = "server shard 0 (rank 0) died (killed by SIGKILL)"
    assert code == 2 and err == f"rudra: {why}\n"
    record = assert_trace_agrees_with_itself(run.out)
    assert record["status"] == "failed" and record["runtime"]["error"] == why
    assert run.left_over(within=run.timeout) == []


def test_sigint_to_the_launcher_leaves_an_interrupted_run_whose_trace_agrees_with_itself(start):
    run = start()
    run.serving(evaluations=10)
    os.kill(run.proc.pid, signal.SIGINT)
    code, err = run.end(within=EXIT)
    assert code == 128 + signal.SIGINT and err == "rudra: interrupted by SIGINT\n"
    record = assert_trace_agrees_with_itself(run.out)
    assert record["status"] == "interrupted" and record["runtime"]["error"] == "interrupted by SIGINT"
    assert run.left_over(within=run.timeout) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_process_of_the_run_outlives_its_killed_launcher(start, sig):
    """Learners, server, the forkserver and the resource tracker: each exits once its launcher is gone."""
    run = start()
    run.serving()
    assert len(run.pids) >= 4  # the forkserver, a server and two learners at least
    os.kill(run.proc.pid, sig)
    code, _ = run.end(within=EXIT)
    assert code == (128 + sig if sig == signal.SIGTERM else -sig)
    assert run.left_over(within=run.timeout) == []
