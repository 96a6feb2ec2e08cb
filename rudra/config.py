"""Experiment config: one TOML file → frozen dataclasses, every field validated on load.

Each section is a dataclass owned by the layer that reads it; this module
checks every field generically from its type and metadata (choices, min, max,
gt, each), then the section's own `invalid()`, then the rules that span
sections. Any problem is a ConfigError with one line naming the field, the
value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from rudra.models.spec import DataSpec, ModelSpec
from rudra.profile import include_profiles
from rudra.protocol.spec import ProtocolSpec, TrainSpec, first_problem
from rudra.runtime.spec import RuntimeSpec
from rudra.sim.spec import ClusterSpec, SimSpec


class ConfigError(Exception):
    """A config problem, as one line: `<where>: <section>.<field> = <value>: allowed <what>`."""


# TOML integers are 64-bit signed. tomllib reads longer ones, which torch then cannot take (a seed of
# 2**64 overflowed torch.manual_seed), so every integer anywhere in a document must fit.
INT64 = (-2**63, 2**63 - 1)
# One folder name: not empty, '.' or '..', no separator or control character, within NAME_MAX bytes.
_FOLDER_NAME = re.compile(r"[^/\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class ExperimentSpec:
    """Names the experiment, seeds it, and says where its runs go."""

    name: str = field(default="experiment", metadata={"doc": "experiment name; runs go to <out>/<name>/<sim|train>"})
    seed: int = field(default=0, metadata={"min": 0, "doc": "seed for every random stream (same seed ⇒ same run)"})
    out: str = field(default="runs", metadata={"doc": "parent folder of run directories"})

    def invalid(self) -> tuple[str, object, str] | None:
        if not _FOLDER_NAME.fullmatch(self.name) or self.name in (".", "..") or len(self.name.encode()) > 255:
            return "name", self.name, ("a folder name inside `out`: not empty, not '.' or '..', without '/' or "
                                       "control characters, at most 255 bytes")
        if not self.out:
            return "out", self.out, "a folder path (not empty)"
        return None


SECTIONS: dict[str, type] = {
    "experiment": ExperimentSpec, "protocol": ProtocolSpec, "train": TrainSpec, "model": ModelSpec,
    "data": DataSpec, "cluster": ClusterSpec, "sim": SimSpec, "runtime": RuntimeSpec,
}


@dataclass(frozen=True)
class Experiment:
    """A whole validated experiment: one spec per TOML section."""

    experiment: ExperimentSpec = ExperimentSpec()
    protocol: ProtocolSpec = ProtocolSpec()
    train: TrainSpec = TrainSpec()
    model: ModelSpec = ModelSpec()
    data: DataSpec = DataSpec()
    cluster: ClusterSpec = ClusterSpec()
    sim: SimSpec = SimSpec()
    runtime: RuntimeSpec = RuntimeSpec()


# --- reading ------------------------------------------------------------------

def load(path: str | Path, overrides: list[str] = (), profile: str | None = None) -> Experiment:
    """Read, override (`section.key=value`) and validate a TOML experiment file (`profile`: rudra/profile.py)."""
    return parse(read(path, overrides, profile), shown(str(path)))


def read(path: str | Path, overrides: list[str] = (), profile: str | None = None) -> dict:
    """A TOML experiment file as a document with its profiles merged and the overrides applied, not yet
    validated."""
    doc = read_toml(path)
    include_profiles(doc, Path(path), profile)
    for item in overrides:
        apply_override(doc, item)
    return doc


def read_toml(path: str | Path, expected: str = "an experiment TOML file (see examples/)") -> dict:
    """A TOML file as a document (ConfigError, one line, if it cannot be read or sets nothing); `expected` says
    what the missing file should have been."""
    path, where = Path(path), shown(str(path))
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file; expected {expected}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: cannot read it ({e.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML: {e}") from None
    except (ValueError, RecursionError) as e:
        raise ConfigError(f"{where}: not valid TOML: {_unreadable(e)}") from None
    if not doc:
        raise ConfigError(f"{where}: the file sets nothing; expected an experiment: [experiment], [protocol], "
                          "[train], ... sections (copy one from examples/; `rudra check --defaults` lists them)")
    return doc


def shown(text: str) -> str:
    """A user's key or path as message text: quoted and escaped when empty or when it holds a line break or
    another unprintable character, so the message stays one line and says what it is."""
    return text if text and text.isprintable() else repr(text)


def _unreadable(e: ValueError | RecursionError) -> str:
    """What tomllib could not read, beyond TOMLDecodeError: a huge integer literal or deep nesting."""
    if isinstance(e, RecursionError):
        return "arrays or tables nested too deeply"
    return "an integer literal thousands of digits long (TOML integers are 64-bit)"


def apply_override(doc: dict, item: str) -> None:
    """Set `section.key=value` in a parsed TOML document; value is TOML (bare words are strings),
    and an empty value leaves the key out (e.g. `protocol.n=` when switching to async)."""
    key, eq, value = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not (eq and dot and section and name):
        raise ConfigError(f"--set {item!r}: allowed the form section.key=value, e.g. protocol.learners=8")
    target = doc.setdefault(section, {})
    if not isinstance(target, dict):
        raise ConfigError(f"--set {item!r}: [{shown(section)}] is not a section")
    value = value.strip()
    if not value:
        target.pop(name, None)
        return
    try:
        target[name] = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        target[name] = value
    except (ValueError, RecursionError) as e:
        raise ConfigError(f"--set {shown(key.strip())}: {_unreadable(e)}") from None


def parse(doc: dict, where: str = "config") -> Experiment:
    """Validate a parsed TOML document into an Experiment (ConfigError on the first problem)."""
    unknown = [k for k in doc if k not in SECTIONS]
    if unknown:
        raise ConfigError(f"{where}: [{shown(unknown[0])}] is not a section: allowed {', '.join(SECTIONS)}")
    big = _beyond_int64(doc)
    if big:
        key, value = big
        text = value if value.bit_length() <= 256 else f"an integer of {value.bit_length()} bits"
        raise ConfigError(f"{where}: {key} = {text}: allowed integers from {INT64[0]} to {INT64[1]} (TOML's range)")
    specs = {}
    for section, cls in SECTIONS.items():
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {section} = {table!r}: allowed a [{section}] table")
        specs[section] = _section(cls, section, table, where)
    exp = Experiment(**specs)
    problem = first_problem([("cluster", exp.cluster.invalid_with(exp.protocol)),
                             ("cluster", exp.cluster.invalid_with_train(exp.train)),
                             ("runtime", exp.runtime.invalid_with(exp.protocol)),
                             ("model", exp.model.invalid_with(exp.data))])
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return exp


def _beyond_int64(value, key: str = "") -> tuple[str, int] | None:
    """The first integer anywhere in `value` that TOML's 64 bits cannot hold, as (dotted key, integer).
    Checked before any field, so no message ever has to print a number thousands of digits long."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return key, value
    if isinstance(value, dict):
        items = ((f"{key}.{shown(k)}" if key else shown(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next(filter(None, (_beyond_int64(v, k) for k, v in items)), None)


def _section(cls: type, section: str, table: dict, where: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in table.items():
        f = fields.get(key)
        if f is None:
            raise ConfigError(f"{where}: {section}.{shown(key)} is not a setting: allowed {', '.join(fields)}")
        problem, value = _check(value, hints[key], f.metadata)
        if problem:
            raise ConfigError(f"{where}: {first_problem([(section, (key, table[key], problem))])}")
        values[key] = value
    spec = cls(**values)
    problem = first_problem([(section, spec.invalid())])
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return spec


def _check(value, hint, meta: dict) -> tuple[str | None, object]:
    """(what is allowed, or None if fine; the value converted to the field's type)."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        hint = next(a for a in args if a is not type(None))
        args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list):
            return f"a list of {args[0].__name__}", value
        items = []
        for v in value:
            problem, v = _check(v, args[0], meta.get("each", {}))
            if problem:
                return f"a list whose items are {problem}", value
            items.append(v)
        return None, tuple(items)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not hint or (hint is float and not math.isfinite(value)):
        return f"a{'n' if hint is int else ''} {_TYPE_NAMES[hint]}" + _limits(meta), value
    if hint is str and "\0" in value:
        return "a string without NUL characters", value
    if "choices" in meta and value not in meta["choices"]:
        return "one of " + ", ".join(repr(c) for c in meta["choices"]), value
    if ("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"]) or \
            ("gt" in meta and value <= meta["gt"]):
        return _TYPE_NAMES[hint] + _limits(meta), value
    return None, value


_TYPE_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean (true or false)"}


def _limits(meta: dict) -> str:
    parts = []
    if "gt" in meta:
        parts.append(f"> {meta['gt']}")
    if "min" in meta:
        parts.append(f">= {meta['min']}")
    if "max" in meta:
        parts.append(f"<= {meta['max']}")
    if "choices" in meta:
        parts.append("one of " + ", ".join(repr(c) for c in meta["choices"]))
    return (" " + " and ".join(parts)) if parts else ""


# --- writing ------------------------------------------------------------------

def to_dict(exp: Experiment) -> dict:
    """The resolved config as plain TOML-able data (None fields left out, tuples as lists)."""
    out = {}
    for section in SECTIONS:
        spec = getattr(exp, section)
        out[section] = {f.name: list(v) if isinstance(v, tuple) else v
                        for f in dataclasses.fields(spec) if (v := getattr(spec, f.name)) is not None}
    return out


def to_toml(exp: Experiment) -> str:
    """The resolved config as TOML text; parse(tomllib.loads(text)) gives `exp` back."""
    return tomli_w.dumps(to_dict(exp))


def describe() -> str:
    """Every section and setting with its default and one-line doc, as commented TOML."""
    lines = []
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]  # {(cls.__doc__ or '').strip().splitlines()[0]}")
        for f in dataclasses.fields(cls):
            default = f.default
            # JSON spells these values (numbers, strings, booleans, flat lists) the way TOML does
            value = "(left out)" if default is None else json.dumps(
                list(default) if isinstance(default, tuple) else default, ensure_ascii=False)
            allowed = _limits(f.metadata).strip()
            lines.append(f"# {f.name} = {value}    {f.metadata.get('doc', '')}" + (f"  [{allowed}]" if allowed else ""))
        lines.append("")
    return "\n".join(lines)
