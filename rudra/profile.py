"""Calibration profiles: a TOML file whose [cluster] table describes measured hardware (`rudra calibrate`
writes one), merged into an experiment's [cluster] when the experiment file is read.

Layers, later ones winning: a profile the file names (`[cluster] profile = "p.toml"`, relative to the
file), the file's own [cluster] keys, a profile given on the command line (`--profile p.toml`), then
`--set`. A layer that gives a compute time replaces the whole compute law below it (a measured
`minibatch_seconds` and a law `compute_overhead + sample_seconds × μ` never mix).
"""
from __future__ import annotations

from pathlib import Path

COMPUTE_LAW = frozenset({"compute_overhead", "sample_seconds", "minibatch_seconds", "minibatch_seconds_at"})


def layered(lower: dict, upper: dict) -> dict:
    """[cluster] keys of `upper` over those of `lower`; a compute time in `upper` replaces `lower`'s law."""
    replaced = COMPUTE_LAW if COMPUTE_LAW & upper.keys() else frozenset()
    return {**{k: v for k, v in lower.items() if k not in replaced}, **upper}


def include_profiles(doc: dict, path: Path, profile: str | None) -> None:
    """Merge into `doc` (an experiment file read from `path`) the profile it names and then `profile`
    (from the command line), which is recorded as cluster.profile."""
    cluster = doc.get("cluster", {})
    if not isinstance(cluster, dict):
        return  # parse() reports a [cluster] that is not a table
    named = cluster.get("profile")
    if isinstance(named, str):
        cluster = layered(read_profile(path.parent / named, f"cluster.profile in {path}"), cluster)
    if profile is not None:
        cluster = layered(cluster, {**read_profile(Path(profile), "--profile"), "profile": profile})
    if cluster:
        doc["cluster"] = cluster


def read_profile(path: Path, given_by: str) -> dict:
    """The [cluster] table of the profile at `path` (ConfigError, one line, if it is not a profile)."""
    from rudra.config import ConfigError, read_toml, shown  # rudra.config imports this module

    doc = read_toml(path, f"a calibration profile ({given_by}; `rudra calibrate` writes one)")
    cluster = doc.get("cluster")
    where = f"{shown(str(path))} ({given_by})"
    if set(doc) != {"cluster"} or not isinstance(cluster, dict):
        raise ConfigError(f"{where}: a profile holds one [cluster] table and nothing else (rudra calibrate "
                          f"writes one); it has {', '.join(map(shown, doc))}")
    if "profile" in cluster:
        raise ConfigError(f"{where}: cluster.profile: allowed only in an experiment file (a profile names none)")
    return cluster
