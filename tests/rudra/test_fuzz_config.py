"""Random experiment files through `rudra check`: it exits 0 or 2, a refusal is one line, never a traceback.

Documents mix real sections and settings with misspelt ones, and values around each field's bounds
(from the specs' metadata: just inside, on and just past min/max/gt, the choices, TOML's 64-bit edge)
with values of any TOML type. An accepted document must print a resolved config that is accepted
again. Examples are derandomized, so a run is repeatable; the slow variant tries ten times as many.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import tomllib
import types
import typing

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudra.cli import main
from rudra.config import INT64, SECTIONS, parse

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # any character a file can hold
EDGE_INTS = [0, 1, -1, 2, INT64[1], INT64[0], INT64[1] + 1, INT64[0] - 1, 2**70, 10**9]

ANY_VALUE = st.recursive(  # every type TOML has
    st.booleans() | st.integers() | st.floats() | TEXT | st.datetimes() | st.dates() | st.times(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def _near(meta: dict, kind: type) -> st.SearchStrategy:
    """Values on and around the bounds `meta` states, of the field's own type."""
    bounds = [meta[k] for k in ("min", "max", "gt") if k in meta]
    if kind is int:
        return st.sampled_from(EDGE_INTS + [b + d for b in bounds for d in (-1, 0, 1)]) | st.integers(-5, 100)
    if kind is float:
        near = [b + d for b in bounds for d in (-1e-9, 0.0, 1e-9, -1.0, 1.0)]
        return st.sampled_from(near + [0.0, 1.0, 0.5, 1e308]) | st.floats() | st.integers(-2, 2**64)
    if kind is str:
        return st.sampled_from(meta.get("choices", ("",)) + ("cpu", "cuda:1", "..", ".", "a/b")) | TEXT
    if kind is bool:
        return st.booleans()
    return st.lists(_near(meta.get("each", {}), int) | st.floats(0.0, 200.0), max_size=4)  # tuple fields


def _kind(hint) -> type:
    if isinstance(hint, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.get_origin(hint) or hint


def _setting(section: str) -> st.SearchStrategy:
    """(key, value) for one line of `section`: usually a real setting with a value near its bounds."""
    cls = SECTIONS.get(section)
    if cls is None:
        return st.tuples(TEXT, ANY_VALUE)
    hints = typing.get_type_hints(cls)
    real = [st.tuples(st.just(f.name), _near(f.metadata, _kind(hints[f.name])) | ANY_VALUE)
            for f in dataclasses.fields(cls)]
    return st.one_of(*real, *real, st.tuples(TEXT, ANY_VALUE))  # real settings twice as often


@st.composite
def documents(draw) -> dict:
    names = draw(st.lists(st.sampled_from(list(SECTIONS)) | TEXT, max_size=5, unique=True))
    doc: dict = {}
    for name in names:
        if draw(st.integers(0, 9)) == 0:  # a section written as a plain value
            doc[name] = draw(ANY_VALUE)
        else:
            doc[name] = dict(draw(st.lists(_setting(name), max_size=6)))
    return doc


OVERRIDES = st.lists(st.builds(lambda s, k, v: f"{s}.{k}={v}", st.sampled_from(list(SECTIONS)) | TEXT, TEXT, TEXT)
                     | TEXT, max_size=2)


def check_answers_in_one_line_or_a_config(folder, doc: dict, overrides: list[str]) -> None:
    path = folder / "fuzz.toml"
    path.write_text(tomli_w.dumps(doc))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # --set=X: X may start with '-'
        code = main(["check", str(path), *(f"--set={o}" for o in overrides)])
    assert code in (0, 2)
    if code == 2:
        assert out.getvalue() == ""
        line = err.getvalue()
        assert line.startswith("rudra: ") and line.endswith("\n") and line.count("\n") == 1, line
    else:
        parse(tomllib.loads(out.getvalue()))  # the resolved config is itself accepted


FUZZ = dict(derandomize=True, database=None, deadline=None,
            suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=100, **FUZZ)
@given(doc=documents(), overrides=OVERRIDES)
def test_random_documents_are_accepted_or_refused_in_one_line(folder, doc, overrides):
    check_answers_in_one_line_or_a_config(folder, doc, overrides)


@pytest.mark.slow
@settings(max_examples=1000, **FUZZ)
@given(doc=documents(), overrides=OVERRIDES)
def test_many_random_documents_are_accepted_or_refused_in_one_line(folder, doc, overrides):
    check_answers_in_one_line_or_a_config(folder, doc, overrides)
