"""The trace format shared by the simulator and the runtime, and its writer.

A run directory holds (docs/DESIGN.md, Traces):
  run.json        resolved config, seed, versions, machine, the derived inputs
                  (run_inputs), the end-of-run facts (run_outcome), the driver's
                  extras under "sim" or "runtime", and the summary that
                  rudra.analysis computes from all of these
  gradients.csv   one row per applied gradient (only with detail="full")
  updates.csv     one row per applied update (detail="summary": the header only)
  metrics.csv     one row per evaluation (epoch, t, train_loss, test_error)
  staleness.csv   histogram of σ over all applied gradients
  learners.csv    per learner: gradients applied and their mean σ
Times are seconds from run start. `applied_version` is the version a gradient
was applied to, so σ = applied_version − pulled_version, and the update that
applied it has `version` = applied_version + 1. This is the one module of
protocol/ that touches files: it owns the on-disk format so both drivers
write it identically.
"""
from __future__ import annotations

import csv
import json
import math
import os
import platform
import socket
from importlib import metadata
from pathlib import Path
from typing import Iterable

import numpy as np

from .events import Applied, Update
from .spec import TrainSpec

GRADIENT_COLUMNS = {
    "learner": "int64", "step": "int64", "pulled_version": "int64", "applied_version": "int64",
    "staleness": "int64", "scale": "float64", "t_pull": "float64", "t_compute_start": "float64",
    "t_compute_end": "float64", "t_push": "float64", "t_applied": "float64",
}
UPDATE_COLUMNS = {"version": "int64", "n_gradients": "int64", "lr": "float64", "t": "float64"}
METRIC_COLUMNS = {"epoch": "float64", "t": "float64", "train_loss": "float64", "test_error": "float64"}
STALENESS_COLUMNS = {"staleness": "int64", "count": "int64"}
LEARNER_COLUMNS = {"learner": "int64", "gradients": "int64", "mean_staleness": "float64"}
# The parts of a gradient's push → applied as shard 0 sees them, mean seconds over its applied gradients in run.json
# (runtime.push_path, sim.push_path): both drivers time the same three, so each part of a prediction can be held
# against a real run's.
PUSH_PATH = {
    "received": "from t_push until a receive thread has the whole message (the link, gloo, that thread's wake-up)",
    "queued": "in the inbox until the message loop takes it (the loop busy, or waking up)",
    "served": "from then until applied (the protocol, a batch filling up, the update)",
}
SCHEMA = {
    "gradients.csv": GRADIENT_COLUMNS, "updates.csv": UPDATE_COLUMNS, "metrics.csv": METRIC_COLUMNS,
    "staleness.csv": STALENESS_COLUMNS, "learners.csv": LEARNER_COLUMNS,
}
DETAILS = ("full", "summary")


def staleness_summary(histogram: dict[int, int]) -> dict[str, float]:
    """Count, mean, p50, p99 and max of σ from a histogram (nearest-rank percentiles)."""
    total = sum(histogram.values())
    if total == 0:
        return {"count": 0, "mean": math.nan, "p50": math.nan, "p99": math.nan, "max": math.nan}
    keys = sorted(histogram)
    mean = sum(k * histogram[k] for k in keys) / total

    def rank(q: float) -> int:
        need, seen = math.ceil(q * total), 0
        for k in keys:
            seen += histogram[k]
            if seen >= need:
                return k
        return keys[-1]

    return {"count": total, "mean": mean, "p50": rank(0.5), "p99": rank(0.99), "max": keys[-1]}


def binned_histogram(histogram: dict[int, int], bins: int = 100) -> tuple[int, list[list[int]]]:
    """(width, [[lowest σ of the bin, count], ...]) for run.json: exact (width 1) while max σ < `bins`,
    else at most `bins` bins of equal width, so the summary stays short at any λ (staleness.csv is exact)."""
    width = max(1, -(-(max(histogram, default=0) + 1) // bins))
    binned: dict[int, int] = {}
    for k, v in histogram.items():
        low = k - k % width
        binned[low] = binned.get(low, 0) + v
    return width, sorted([k, v] for k, v in binned.items())


def _plus(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b for counts indexed from 0, the shorter one padded with zeros."""
    if len(a) < len(b):
        a, b = b, a
    a = a.copy()
    a[:len(b)] += b
    return a


class StalenessTally:
    """σ counts overall and per learner. Gradients are listed as they come and counted by numpy every
    FOLD of them: a dict update per gradient cost the simulator ~7% of its rate. Memory: O(max σ + λ)."""

    FOLD = 8192

    def __init__(self) -> None:
        self._sigma: list[int] = []
        self._who: list[int] = []
        self._hist = np.zeros(0, np.int64)   # gradients per σ
        self._count = np.zeros(0, np.int64)  # gradients per learner
        self._sum = np.zeros(0, np.int64)    # Σσ per learner

    def add(self, gradients: Iterable[Applied]) -> None:
        """Count the gradients of one update."""
        sigma, who = self._sigma, self._who
        for a in gradients:
            sigma.append(a.staleness)
            who.append(a.learner)
        if len(sigma) >= self.FOLD:
            self._fold()

    def _fold(self) -> None:
        if not self._sigma:
            return
        sigma, who = np.array(self._sigma, np.int64), np.array(self._who, np.int64)
        self._sigma, self._who = [], []
        self._hist = _plus(self._hist, np.bincount(sigma))
        self._count = _plus(self._count, np.bincount(who))
        self._sum = _plus(self._sum, np.bincount(who, weights=sigma).astype(np.int64))  # exact below 2**53

    def restore(self, histogram: dict[int, int], per_learner: dict[int, tuple[int, int]]) -> None:
        """Start from stored counts ({σ: count}, {learner: (gradients, Σσ)}) instead of zero."""
        self._sigma, self._who = [], []
        self._hist = np.zeros(max(histogram, default=-1) + 1, np.int64)
        self._hist[list(histogram)] = list(histogram.values())
        self._count = np.zeros(max(per_learner, default=-1) + 1, np.int64)
        self._sum = self._count.copy()
        for l, (n, total) in per_learner.items():
            self._count[l], self._sum[l] = n, total

    @property
    def histogram(self) -> dict[int, int]:
        """{σ: gradients} for every σ seen, in increasing σ."""
        self._fold()
        seen = np.flatnonzero(self._hist)
        return dict(zip(seen.tolist(), self._hist[seen].tolist()))

    @property
    def per_learner(self) -> dict[int, list[int]]:
        """{learner: [gradients, Σσ]} for every learner with a gradient applied, in increasing id."""
        self._fold()
        seen = np.flatnonzero(self._count)
        return {l: [n, s] for l, n, s in zip(seen.tolist(), self._count[seen].tolist(), self._sum[seen].tolist())}


class TraceWriter:
    """Streams the trace of one run into `run_dir`.

    detail="full" writes a row per update and per gradient; "summary" keeps
    only the staleness histogram and per-learner counts (O(1) per learner), so
    that a run of 10⁷ gradients stays small.

    With append=True (a resumed run) rows go after the existing ones and the
    histograms continue from the stored ones.
    """

    def __init__(self, run_dir: str | Path, detail: str = "full", append: bool = False):
        if detail not in DETAILS:
            raise ValueError(f"trace detail {detail!r}: allowed {DETAILS}")
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.detail = detail
        self.tally = StalenessTally()
        if append:
            self._load_counts()
        names = ["updates.csv", "metrics.csv"] + (["gradients.csv"] if detail == "full" else [])
        self._files = {}
        self._csv = {}
        for name in names:
            path = self.dir / name
            fresh = not (append and path.exists())
            f = open(path, "w" if fresh else "a", newline="")
            self._files[name] = f
            self._csv[name] = csv.writer(f, lineterminator="\n")
            if fresh:
                self._csv[name].writerow(SCHEMA[name])
        self._gradients = self._csv.get("gradients.csv")
        self._updates = self._csv["updates.csv"]

    @property
    def histogram(self) -> dict[int, int]:
        """{σ: gradients applied at σ} so far."""
        return self.tally.histogram

    @property
    def per_learner(self) -> dict[int, list[int]]:
        """{learner: [gradients applied, Σσ of them]} so far."""
        return self.tally.per_learner

    def _load_counts(self) -> None:
        histogram: dict[int, int] = {}
        per_learner: dict[int, tuple[int, int]] = {}
        path = self.dir / "staleness.csv"
        if path.exists():
            with open(path, newline="") as f:
                for row in csv.DictReader(f):
                    histogram[int(row["staleness"])] = int(row["count"])
        path = self.dir / "learners.csv"
        if path.exists():
            with open(path, newline="") as f:
                for row in csv.DictReader(f):
                    n = int(row["gradients"])
                    per_learner[int(row["learner"])] = (n, round(float(row["mean_staleness"]) * n))
        self.tally.restore(histogram, per_learner)

    def update(self, update: Update, t: float, times: Iterable[tuple[float, float, float, float]] = ()) -> None:
        """Record one applied update; `times` gives (t_pull, t_compute_start, t_compute_end, t_push)
        for each of update.gradients, in order (needed only with detail="full")."""
        self.tally.add(update.gradients)
        if self._gradients is not None:
            i = update.version - 1
            self._updates.writerow((update.version, len(update.gradients), update.lr, t))
            rows = self._gradients
            for a, (tp, tcs, tce, tpush) in zip(update.gradients, times, strict=True):
                rows.writerow((a.learner, a.step, a.pulled_version, i, a.staleness, a.scale,
                               tp, tcs, tce, tpush, t))

    def metrics(self, epoch: float, t: float, train_loss: float, test_error: float) -> None:
        """Record one evaluation of the server's weights."""
        self._csv["metrics.csv"].writerow((epoch, t, train_loss, test_error))
        self._files["metrics.csv"].flush()

    def flush(self) -> None:
        """Push buffered rows to disk and rewrite the histograms (for checkpoints and crashes)."""
        for f in self._files.values():
            f.flush()
        with open(self.dir / "staleness.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(STALENESS_COLUMNS)
            w.writerows(self.histogram.items())
        with open(self.dir / "learners.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(LEARNER_COLUMNS)
            w.writerows((l, n, s / n) for l, (n, s) in self.per_learner.items())

    def close(self) -> None:
        """Flush everything and close the files."""
        self.flush()
        for f in self._files.values():
            f.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_run_json(run_dir: str | Path, info: dict) -> None:
    """Write run.json deterministically (sorted keys), atomically (write then rename)."""
    path = Path(run_dir) / "run.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def software_versions(**packages: str) -> dict:
    """run.json's "versions": rudra, python and numpy, plus the driver's own packages (simpy, torch)."""
    try:
        rudra = metadata.version("rudra")
    except metadata.PackageNotFoundError:
        rudra = None
    return {"rudra": rudra, "python": platform.python_version(), "numpy": np.__version__, **packages}


def machine(**extra) -> dict:
    """run.json's "machine": host, platform and CPU count of the process that wrote the trace, plus the
    driver's own (the runtime adds its torch devices)."""
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(), **extra}


def run_inputs(train: TrainSpec, *, learners: int, train_samples: int, parameters: int | None,
               model_bytes: int) -> dict:
    """run.json's "inputs": what the driver derived from the config and ran with (N, the model's size,
    the epoch length and target), so a summary or a comparison needs nothing but the run directory."""
    return {"learners": learners, "minibatch": train.minibatch, "train_samples": train_samples,
            "parameters": parameters, "model_bytes": model_bytes,
            "gradients_per_epoch": train.gradients_per_epoch(train_samples),
            "target_gradients": train.target_gradients(train_samples), "epochs_target": train.epochs}


def run_outcome(*, status: str, stopped_by: str, seconds: float, target_seconds: float | None, gradients: int,
                updates: int, holds: int, lost_learners: int) -> dict:
    """run.json's end-of-run facts, the same keys from both drivers (seconds: the driver's clock, simulated or
    wall; target_seconds: when the epochs target was reached, None if it was not)."""
    return {"status": status, "stopped_by": stopped_by, "seconds": seconds, "target_seconds": target_seconds,
            "gradients": gradients, "updates": updates, "holds": holds, "lost_learners": lost_learners}


def read_run_json(run_dir: str | Path) -> dict:
    """The run.json of a run directory."""
    return json.loads((Path(run_dir) / "run.json").read_text())
