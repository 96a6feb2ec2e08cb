"""The runs a plot draws: run directories given directly or listed by a sweep's index.csv, each with
its summary and the settings that name its configuration (protocol, λ, μ, n, learning-rate policy)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rudra.protocol import read_run_json

from .summary import summarize
from .trace import TraceError

INDEX = "index.csv"  # a sweep folder's table: one row per point, `run_dir` relative to the folder


@dataclass(frozen=True)
class Run:
    """One run directory, what configuration it ran and its summary."""

    dir: Path
    kind: str            # "sim" or "real"
    protocol: str
    learners: int        # λ
    minibatch: int       # μ
    n: int | None        # softness: n of n-softsync, λ for async, None for hardsync
    lr_policy: str
    summary: dict

    @property
    def protocol_label(self) -> str:
        """'hardsync', '4-softsync', 'async': the protocol as the paper names it."""
        return f"{self.n}-softsync" if self.protocol == "softsync" else self.protocol

    @property
    def config_label(self) -> str:
        """Everything but the kind: protocol, λ, μ, lr policy."""
        return self.label()

    def label(self, common: dict | None = None) -> str:
        """Protocol, λ, and those of μ and lr policy not in `common` (the settings every run of a figure
        shares, said once in its note: shared())."""
        return ", ".join([self.protocol_label, f"λ={self.learners}", *self.extras(common)])

    def extras(self, common: dict | None = None) -> list[str]:
        """μ and lr policy as a label writes them, less those in `common`."""
        return [text for name, text in (("μ", f"μ={self.minibatch}"), ("lr policy", self.lr_policy))
                if name not in (common or {})]

    @property
    def series(self) -> tuple[str, str, int, str]:
        """What a curve over λ keeps fixed: kind, protocol (with its n), μ and lr policy."""
        return self.kind, self.protocol_label, self.minibatch, self.lr_policy


def shared(runs: list[Run]) -> dict:
    """μ and lr policy where every run has the same one, name -> value: a figure says them once, in
    note(), instead of on every label."""
    values = {"μ": {r.minibatch for r in runs}, "lr policy": {r.lr_policy for r in runs}}
    return {name: next(iter(v)) for name, v in values.items() if len(v) == 1}


def note(common: dict, what: str = "runs") -> str:
    """'all runs: μ = 8, lr policy per-gradient' for shared()'s settings; '' when there are none."""
    return f"all {what}: " + ", ".join(f"{k} = {v}" if k == "μ" else f"{k} {v}" for k, v in common.items()) \
        if common else ""


def kind_of(run: dict) -> str:
    """'sim' or 'real' from run.json's kind (anything else counts as real: it was measured)."""
    return "sim" if run.get("kind") == "sim" else "real"


def distinct(labels: list[str], dirs: list[Path]) -> list[str]:
    """The labels, each that repeats followed by its run folder's name, so repeated runs stay apart."""
    return [f"{label} ({d.name})" if labels.count(label) > 1 else label for label, d in zip(labels, dirs)]


def load(run_dir: Path) -> Run:
    """A Run from its directory (run.json's config and inputs, and the shared summary)."""
    info = read_run_json(run_dir)
    config = info.get("config", {})
    protocol, train = config.get("protocol", {}), config.get("train", {})
    name = protocol.get("name", "?")
    learners = info.get("inputs", {}).get("learners", protocol.get("learners"))
    return Run(dir=run_dir, kind=kind_of(info), protocol=name, learners=learners,
               minibatch=info.get("inputs", {}).get("minibatch", train.get("minibatch")),
               n=learners if name == "async" else protocol.get("n"), lr_policy=protocol.get("lr_policy", "?"),
               summary=summarize(run_dir))


def sweep_dirs(folder: Path) -> list[Path]:
    """The run directories of a sweep's points that finished (status ok): an invalid point has none, a
    failed one may hold a partial run that would pass for a fast one."""
    try:
        index = pd.read_csv(folder / INDEX)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise TraceError(f"{folder / INDEX}: not a readable sweep index ({e.__class__.__name__}: {e})") from None
    if "run_dir" not in index.columns:
        raise TraceError(f"{folder / INDEX}: no run_dir column; expected the index.csv of `rudra sweep`")
    if "status" in index.columns:
        index = index[index.status == "ok"]
    return [folder / d for d in index.run_dir.dropna() if (folder / d / "run.json").is_file()]


def collect(paths: list[str | Path]) -> list[Run]:
    """Every run in `paths`, each a run directory or a sweep folder, in the order given."""
    dirs: list[Path] = []
    for p in map(Path, paths):
        if (p / "run.json").is_file():
            dirs.append(p)
        elif (p / INDEX).is_file():
            dirs += sweep_dirs(p)
        else:
            raise TraceError(f"{p}: neither a run directory (run.json) nor a sweep folder ({INDEX})")
    if not dirs:
        raise TraceError(f"{', '.join(map(str, paths))}: no finished runs to draw")
    return [load(d) for d in dirs]
