"""Read a run directory (from the simulator or the runtime) into pandas."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rudra.protocol.trace import SCHEMA, read_run_json


class TraceError(Exception):
    """A run directory that is missing or not in the trace schema (one-line message)."""


@dataclass(frozen=True)
class Trace:
    """One run: run.json as a dict and one DataFrame per CSV (None where the run did not write it)."""

    dir: Path
    run: dict
    gradients: pd.DataFrame | None
    updates: pd.DataFrame
    metrics: pd.DataFrame
    staleness: pd.DataFrame
    learners: pd.DataFrame


def read_csv(path: Path) -> pd.DataFrame:
    """One trace CSV with the schema's columns and dtypes; TraceError if it does not match."""
    columns = SCHEMA[path.name]
    try:
        frame = pd.read_csv(path, dtype=columns)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise TraceError(f"{path}: not a readable {path.name} ({e.__class__.__name__}: {e})") from None
    if list(frame.columns) != list(columns):
        raise TraceError(f"{path}: expected columns {','.join(columns)}, found {','.join(frame.columns)}")
    return frame


def read_trace(run_dir: str | Path) -> Trace:
    """Load every file of a run directory; gradients is None for summary-only traces."""
    d = Path(run_dir)
    if not (d / "run.json").is_file():
        raise TraceError(f"{d}: no run.json here; expected a run directory written by `rudra simulate` or `rudra train`")
    grads = d / "gradients.csv"
    return Trace(
        dir=d, run=read_run_json(d),
        gradients=read_csv(grads) if grads.exists() else None,
        **{name: read_csv(d / f"{name}.csv") for name in ("updates", "metrics", "staleness", "learners")},
    )
