"""Soak: real trainings (async and 2-softsync, λ = 4) whose learners are killed from outside at random moments.

Each run is `rudra train` of the shipped digits example in a subprocess; once it serves, up to λ − 1 of its
learners get SIGKILL or SIGSTOP at random moments (fixed seed), at least 20
kills in all. Per run it reports, from shard 0's counts (run.json
runtime.pushes) and the trace:

  pushed     gradients the learners numbered, up to the last one the server saw
  received   pushes the server took in
  applied    gradients.csv rows
  lost       received − dropped (stopped learner, run complete) − left in an
             unfinished softsync batch − applied: must be 0
  end        run.json's status: "finished" (async and softsync go on without
             lost learners) or why not
  left       processes of the run still alive after it ended: must be none

A learner killed while its push is in flight never counts as pushed: nothing
outside the learner can see a push the server never received.
Run: python benchmarks/soak.py [--seed S] [--kills K]
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rudra.protocol import read_run_json
from rudra.runtime.processes import alive, descendants, of_run

LEARNERS = 4
TIMEOUT = 3.0     # runtime.timeout: a stopped learner counts as gone after this
STARTUP = 120.0   # seconds a loaded machine may take to start a run's processes
EPOCHS = 40       # long enough (≈ 10 s of serving here) for every kill to land while the run serves
EXAMPLE = Path(__file__).parents[1] / "examples" / "train_digits_async.toml"


def one_run(folder: Path, name: str, kills: int, rng: random.Random) -> dict:
    """Train `name` with `kills` learners killed from outside; the run's figures."""
    settings = [f"protocol.name={name}", f"protocol.learners={LEARNERS}", f"train.epochs={EPOCHS}",
                f"runtime.timeout={TIMEOUT}", "runtime.eval_every=1", *(["protocol.n=2"] if name == "softsync" else [])]
    out = folder / "run"
    proc = subprocess.Popen([sys.executable, "-m", "rudra", "train", str(EXAMPLE), "--out", str(out),
                             *[a for s in settings for a in ("--set", s)]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    deadline = time.monotonic() + STARTUP
    while not _rows(out / "metrics.csv") and proc.poll() is None:  # the first evaluation: it serves
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"soak: the {name} run did not start serving within {STARTUP:g} s")
        time.sleep(0.05)
    pids = descendants(proc.pid)
    learners = {k: pid for k, pid in of_run(proc.pid).items() if k.startswith("learner")}
    done = []
    for victim in rng.sample(sorted(learners), kills):
        time.sleep(rng.uniform(0.0, 2.0))  # a random moment, while the run goes on
        sig = rng.choice([signal.SIGKILL, signal.SIGSTOP])
        if proc.poll() is None and alive(learners[victim]):
            os.kill(learners[victim], sig)
            done.append(f"{victim}:{'KILL' if sig == signal.SIGKILL else 'STOP'}")
    _, err = proc.communicate(timeout=600)
    run = read_run_json(out)
    pushes = run.get("runtime", {}).get("pushes")
    applied = len(_rows(out / "gradients.csv"))
    deadline = time.monotonic() + 2 * TIMEOUT
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    figures = {"protocol": name, "seconds": f"{run.get('seconds', 0):.1f}", "kills": " ".join(done), "end": run["status"] if proc.returncode == 0 else
               err.strip().removeprefix("rudra: "), "applied": applied, "left": len(left)}
    if pushes:
        received = sum(pushes["received"])
        figures.update(pushed=sum(pushes["numbered"]), received=received,
                       lost=received - sum(pushes["dropped"]) - pushes["unapplied"] - applied)
    for pid in left:  # leave the machine clean even when the soak fails
        os.kill(pid, signal.SIGKILL)
    return figures


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills", type=int, default=20, help="at least this many kills in all (default 20)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    columns = ("run", "protocol", "seconds", "pushed", "received", "applied", "lost", "end", "left", "kills")
    print(f"soak: λ = {LEARNERS}, timeout {TIMEOUT:g} s, {EPOCHS} epochs per run, seed {args.seed}")
    print("  ".join(f"{c:>8}" for c in columns[:-1]) + "  kills")
    total, results, k = 0, [], 0
    while total < args.kills:
        kills = rng.randint(1, LEARNERS - 1)
        with tempfile.TemporaryDirectory(prefix="rudra-soak-") as folder:
            r = one_run(Path(folder), ("async", "softsync")[k % 2], kills, rng)
        k += 1
        r["run"] = k
        total += len(r["kills"].split())
        results.append(r)
        print("  ".join(f"{str(r.get(c, '-')):>8}" for c in columns[:-1]) + f"  {r['kills']}", flush=True)
    bad = [r for r in results if r.get("lost") != 0 or r["left"] or r["end"] != "finished"]
    print(f"{len(results)} runs, {total} kills: {sum(r['applied'] for r in results)} gradients applied, "
          f"{sum(r.get('lost', 0) for r in results)} lost, {sum(r['left'] for r in results)} processes left over; "
          + ("all runs finished" if not bad else f"{len(bad)} runs did not hold"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
