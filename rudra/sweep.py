"""`rudra sweep`: one experiment over a grid of settings; a run directory per point and one index.csv.

The grid is the cartesian product of the `--vary KEY=V1,V2,...` axes, in the
order given; all `--zip KEY=V1,V2,...` lists (of one length) form one more axis
whose values change together, placed where the first --zip stands. Values are
TOML, like --set's; `--set` applies to every point, a point's own values after it.

Protocol-only settings. When `protocol.name` is varied, each point leaves out
the [protocol] settings its protocol does not read (protocol.spec
`unread_settings`: `n` for hardsync and async, `max_staleness` for hardsync),
so one grid crosses protocols without `--set protocol.n=`; grid points that
become the same experiment that way are one point. A point that is still
invalid (say n > λ) is a row with its one-line reason, as is one that fails
while running; the sweep goes on.

The sweep folder (`rudra plot` reads it through this contract):

  <out>/index.csv    one row per point, in grid order (written by the submitting process only):
      <varied keys>    a column per --vary/--zip key (e.g. `protocol.learners`): the point's value, empty where
                       the point's protocol does not read that setting
      protocol.name, protocol.learners, train.minibatch, protocol.lr_policy, protocol.n
                       always present, to label points (empty n: the protocol takes none)
      mode             sim (simulated) | real (trained)
      status           ok | invalid | failed
      reason           why a point is invalid or failed, one line (empty when ok)
      seconds, seconds_per_epoch, time_to_target, gradients_per_second, updates_per_second,
      staleness.mean, staleness.p99, test_error, speedup
                       the run summary's (rudra.analysis.summarize) main values, same units (speedup over λ = 1
                       is the simulator's `sim.speedup`); empty where the run has none (a failed point;
                       test_error of a run without evaluation; speedup of a real run)
      run_dir          the point's run directory, relative to <out> (empty for an invalid point: it has none)
  <out>/<point>/     the point's run directory (run.json, gradients.csv, ...), named from its varied values,
                     e.g. `learners-4_n-1`

Rerunning the same command reruns nothing that finished: a point whose run
directory holds a finished run of exactly its resolved config returns that
run's stored summary (checked where the point runs, so it holds on Dask
workers too). Points run on a concurrent.futures executor: local processes
(simulated points in parallel, real-training points one at a time, since a
real run owns the machine's cores), or, with `--dask ADDRESS`, an existing
Dask cluster through dask.distributed's Client executor; the same point
function, results and index either way. With Dask, `--out` must be a path the
workers can write to (a shared file system) for the run directories to be
in one place, and real-training points need workers that may start processes
(Dask's are daemonic unless started with DASK_DISTRIBUTED__WORKER__DAEMON=False).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import copy
import csv
import dataclasses
import multiprocessing
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from tqdm import tqdm

from rudra.config import SECTIONS, ConfigError, Experiment, apply_override, parse, read, to_dict
from rudra.protocol.spec import READ_ONLY_BY, unread_settings
from rudra.protocol.trace import read_run_json
from rudra.rundir import writable

MODE_KIND = {"simulate": "sim", "train": "real"}  # --mode → the index's mode column (run.json's kind)
SIM_ONLY = ("cluster", "sim")  # config sections only the simulator reads
LABELS = ("protocol.name", "protocol.learners", "train.minibatch", "protocol.lr_policy", "protocol.n")
# index column -> where the run summary holds it (speedup over λ = 1 is the simulator's extra)
MAIN = {key: key for key in ("seconds", "seconds_per_epoch", "time_to_target", "gradients_per_second",
                             "updates_per_second", "staleness.mean", "staleness.p99", "test_error")}
MAIN["speedup"] = "sim.speedup"
DASK_CONNECT_SECONDS = 30
DAEMON_WORKER = ("a real run starts a process per learner and server, which a daemonic Dask worker may not: "
                 "start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False")


@dataclass(frozen=True)
class Point:
    """One grid point: its varied values (None where its protocol does not read the setting), the document
    it resolves to, and its experiment, or why it has none."""

    values: tuple[tuple[str, object], ...]
    doc: dict
    name: str
    exp: Experiment | None
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What running one point gave: ok or failed, the reason, the run's summary, and whether an earlier
    run of the same config was reused."""

    status: str
    reason: str = ""
    summary: dict | None = None
    reused: bool = False


# --- the grid -----------------------------------------------------------------

def axes(items: list[tuple[str, str]]) -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """(keys, steps) per axis from ("vary" | "zip", "KEY=V1,V2,...") in command order; a step holds
    one value text per key. ConfigError for a malformed item or --zip lists of different lengths."""
    out: list[tuple[tuple[str, ...], list[tuple[str, ...]]]] = []
    zipped: dict[str, list[str]] = {}
    for kind, item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        section, dot, name = key.partition(".")
        if not (eq and dot and name and text.strip()):
            raise ConfigError(f"--{kind} {item!r}: allowed the form section.key=V1,V2,..., "
                              "e.g. protocol.learners=1,2,4")
        if section not in SECTIONS:
            raise ConfigError(f"--{kind} {item!r}: [{section}] is not a section: allowed {', '.join(SECTIONS)}")
        values = split_values(text)
        if key in zipped or any(key in keys for keys, _ in out):
            raise ConfigError(f"--{kind} {item!r}: {key} is varied twice; allowed once per key")
        if kind == "vary":
            out.append(((key,), [(v,) for v in values]))
            continue
        if not zipped:
            out.append(((), []))  # the zipped axis goes where the first --zip stands
        zipped[key] = values
    if zipped:
        lengths = {len(v) for v in zipped.values()}
        if len(lengths) > 1:
            raise ConfigError("--zip lists must have one length to be varied together: "
                              + ", ".join(f"{k} has {len(v)}" for k, v in zipped.items()))
        at = next(i for i, (keys, _) in enumerate(out) if not keys)
        out[at] = (tuple(zipped), list(zip(*zipped.values())))
    return out


def split_values(text: str) -> list[str]:
    """'1,2,[3,4],"a,b"' -> ['1', '2', '[3,4]', '"a,b"']: commas inside brackets or quotes stay."""
    values, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(text[start:i].strip())
            start = i + 1
    values.append(text[start:].strip())
    if any(not v for v in values):
        raise ConfigError(f"--vary/--zip values {text!r}: allowed a comma-separated list without empty items")
    return values


def grid(file: str | Path, sets: list[str], items: list[tuple[str, str]], profile: str | None = None) -> list[Point]:
    """Every distinct point of the grid, in grid order (the first axis varies slowest); `profile`: a
    calibration profile merged into every point's [cluster] (rudra/profile.py)."""
    path = Path(file)
    base = read(path, sets, profile)
    spec = axes(items)
    keys = [k for axis_keys, _ in spec for k in axis_keys]
    points: dict[str, Point] = {}  # by repr of the values: a value may be a list
    for steps in product(*(axis_steps for _, axis_steps in spec)):
        doc = copy.deepcopy(base)
        for key, text in zip(keys, (t for step in steps for t in step)):
            apply_override(doc, f"{key}={text}")
        if "protocol.name" in keys:
            for unread in unread_settings(setting(doc, "protocol.name")):
                doc.get("protocol", {}).pop(unread, None)
        values = tuple((k, lookup(doc, k)) for k in keys)
        if repr(values) not in points:
            points[repr(values)] = _point(values, doc, path)
    names = [p.name for p in points.values()]
    clash = next((n for n in names if names.count(n) > 1), None)
    if clash:
        raise ConfigError(f"two grid points would share the run directory {clash!r}: "
                          "allowed values that differ in letters, digits, '.', '+' or '-'")
    return list(points.values())


def _point(values: tuple[tuple[str, object], ...], doc: dict, path: Path) -> Point:
    try:
        exp, reason = parse(doc, str(path)), ""
    except ConfigError as e:
        exp, reason = None, str(e).removeprefix(f"{path}: ")
    return Point(values, doc, point_name(values), exp, reason)


def lookup(doc: dict, key: str) -> object:
    """The value of `section.key` in a TOML document, None where it is left out."""
    section, _, name = key.partition(".")
    table = doc.get(section, {})
    return table.get(name) if isinstance(table, dict) else None


def setting(doc: dict, key: str) -> object:
    """The value of `section.key` in a document, else its default (None where the setting is unknown)."""
    value = lookup(doc, key)
    section, _, name = key.partition(".")
    if value is not None or section not in SECTIONS:
        return value
    return next((f.default for f in dataclasses.fields(SECTIONS[section]) if f.name == name), None)


def point_name(values: tuple[tuple[str, object], ...]) -> str:
    """A run directory name from the varied values: the key's last part (the whole key where two varied
    keys end alike) and the value, e.g. `learners-4_n-1`; settings left out are not named."""
    tails = [k.rpartition(".")[2] for k, _ in values]
    parts = []
    for (key, value), tail in zip(values, tails):
        if value is None:
            continue
        label = tail if tails.count(tail) == 1 else key
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        parts.append(f"{label}-{re.sub(r'[^A-Za-z0-9.+-]', '_', text.replace('*', 'star'))}")
    return "_".join(parts) or "base"


# --- running ------------------------------------------------------------------

def run_point(exp: Experiment, mode: str, out: str) -> Outcome:
    """Run one point into `out` (runs where the executor puts it: a local process or a Dask worker).
    A finished run of the same config there is reused, not rerun."""
    from rudra.runner import run_experiment

    done = finished_summary(Path(out), to_dict(exp), mode)
    if done is not None:
        return Outcome("ok", summary=done, reused=True)
    if mode == "train" and multiprocessing.current_process().daemon:
        return Outcome("failed", DAEMON_WORKER)
    try:
        summary = run_experiment(exp, mode, out, progress=False)
    except Exception as e:  # the sweep goes on: the point records why it failed
        return Outcome("failed", one_line(e))
    return Outcome("ok", summary=summary)


def finished_summary(out: Path, config: dict, mode: str) -> dict | None:
    """The stored summary of a finished `mode` run of `config` in `out`, else None. A real run reads neither
    [cluster] nor [sim], so a new calibration profile does not make it stale."""
    try:
        run = read_run_json(out)
    except (OSError, ValueError):
        return None
    summary = run.get("summary") if isinstance(run, dict) else None
    if not isinstance(summary, dict) or summary.get("status") != "finished":
        return None
    ignored = SIM_ONLY if mode == "train" else ()
    stored = run.get("config")
    if not isinstance(stored, dict) or _without(stored, ignored) != _without(config, ignored):
        return None
    return summary


def _without(config: dict, sections: tuple[str, ...]) -> dict:
    return {k: v for k, v in config.items() if k not in sections}


def one_line(e: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    lines = str(e).strip().splitlines()
    return f"{e.__class__.__name__}: {lines[0] if lines else 'no message'}"


@contextlib.contextmanager
def executor(mode: str, workers: int | None, dask: str | None, points: int) -> Iterator[cf.Executor]:
    """Where points run: an existing Dask cluster, or local processes (simulated points `workers` at a time,
    default one per core; real-training points one at a time)."""
    if dask:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("--dask needs dask.distributed: pip install 'rudra[dask]'") from None
        try:
            client = Client(dask, timeout=DASK_CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(f"--dask {dask}: no Dask scheduler answered there within "
                              f"{DASK_CONNECT_SECONDS} s ({one_line(e)})") from None
        try:
            yield client.get_executor(pure=False)  # pure=False: a rerun is a new task, not a cached result
        finally:
            client.close(timeout=DASK_CONNECT_SECONDS)
        return
    count = 1 if mode == "train" else max(1, min(workers or os.cpu_count() or 1, points))
    # spawn, not fork: the submitting process may hold threads (a progress bar's, a Dask client's)
    with cf.ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@dataclass(frozen=True)
class Result:
    """A finished sweep: its folder, its points and what running each gave, in grid order."""

    folder: Path
    points: list[Point]
    outcomes: list[Outcome]


def sweep(file: str | Path, *, sets: list[str], items: list[tuple[str, str]], mode: str, out: str | Path | None,
          workers: int | None, dask: str | None, progress: bool, profile: str | None = None) -> Result:
    """Run the grid and write `<folder>/index.csv`."""
    if mode not in MODE_KIND:
        raise ConfigError(f"--mode {mode!r}: allowed {', '.join(MODE_KIND)}")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: allowed an integer >= 1")
    if not items:
        raise ConfigError("sweep: give at least one --vary KEY=V1,V2,... (or --zip) to make a grid")
    points = grid(file, sets, items, profile)
    folder = Path(out) if out else (Path(setting(points[0].doc, "experiment.out"))
                                    / str(setting(points[0].doc, "experiment.name")) / "sweep")
    folder = writable(folder.resolve())
    outcomes = {i: Outcome("invalid", p.reason) for i, p in enumerate(points) if p.exp is None}
    todo = [i for i, p in enumerate(points) if p.exp is not None]
    if todo:
        with executor(mode, workers, dask, len(todo)) as ex, \
                tqdm(total=len(todo), unit="point", desc="sweep", disable=not progress) as bar:
            futures = {ex.submit(run_point, points[i].exp, mode, str(folder / points[i].name)): i for i in todo}
            try:
                for future in cf.as_completed(futures):
                    try:
                        outcomes[futures[future]] = future.result()
                    except Exception as e:  # the worker died (a crashed process, a lost Dask worker)
                        outcomes[futures[future]] = Outcome("failed", one_line(e))
                    bar.update()
            except BaseException:  # interrupted: start nothing more (a point already running finishes)
                for future in futures:
                    future.cancel()
                raise
    result = Result(folder, points, [outcomes[i] for i in range(len(points))])
    write_index(folder / "index.csv", [row(p, mode, o) for p, o in zip(result.points, result.outcomes)])
    return result


# --- the index ----------------------------------------------------------------

def row(point: Point, mode: str, outcome: Outcome) -> dict:
    """One index row (see the module docstring for the columns)."""
    r: dict[str, object] = dict(point.values)
    for key in LABELS:
        r.setdefault(key, setting(point.doc, key))
    r.update(mode=MODE_KIND[mode], status=outcome.status, reason=outcome.reason)
    for column, path in MAIN.items():
        value: object = outcome.summary
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        r[column] = value
    r["run_dir"] = point.name if outcome.status != "invalid" else ""
    return r


def write_index(path: Path, rows: list[dict]) -> None:
    """index.csv, written whole then renamed into place; None is an empty cell, floats round-trip."""
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    tmp.replace(path)


def report(result: Result) -> str:
    """What the command prints: the counts and where the index is, which settings points leave out when
    protocol.name varies, and each point that did not run, with why."""
    count = {status: sum(o.status == status for o in result.outcomes) for status in ("ok", "invalid", "failed")}
    reused = sum(o.reused for o in result.outcomes)
    done = f" ({reused} finished before, not rerun)" if reused else ""
    lines = [f"sweep of {len(result.points)} point{'s' * (len(result.points) != 1)}: {count['ok']} ok{done}, "
             f"{count['invalid']} invalid, {count['failed']} failed -> {result.folder / 'index.csv'}"]
    if any(key == "protocol.name" for key, _ in result.points[0].values):
        lines.append("  protocol.name varies: a point keeps only the settings its protocol reads ("
                     + "; ".join(f"protocol.{k} only for {' and '.join(v)}" for k, v in READ_ONLY_BY.items()) + ")")
    bad = [(p.name, o) for p, o in zip(result.points, result.outcomes) if o.status != "ok"]
    width = max((len(name) for name, _ in bad), default=0)
    lines += [f"  {o.status:<7}  {name:<{width}}  {o.reason}" for name, o in bad]
    return "\n".join(lines)
