"""Installing rudra puts only `rudra` on the import path: its parts are rudra.protocol, rudra.sim, ...

Generic top-level names (protocol, sim, runtime, models, analysis) would shadow, or be shadowed by, a
user's own packages of those names.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("protocol", "sim", "runtime", "models", "analysis")


def _python(code: str, cwd: Path, path: Path) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (-I: no cwd, no PYTHON* variables) with `path` first on sys.path."""
    code = f"import sys; sys.path.insert(0, {str(path)!r}); {code}"
    return subprocess.run([sys.executable, "-I", "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_a_wheel_install_leaves_only_rudra_at_the_top(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True, timeout=300)
    top = sorted(p.name for p in target.iterdir() if p.name != "bin")  # bin/: the `rudra` script, not importable
    assert [n for n in top if not n.endswith(".dist-info")] == ["rudra"], top
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for part in PARTS:
        r = _python(f"import {part}", elsewhere, target)
        assert "ModuleNotFoundError" in r.stderr, (part, r.stderr)
    r = _python("import rudra.models, rudra.protocol, rudra.sim, rudra.analysis, rudra.runtime; "
                "print(rudra.models.__file__)", elsewhere, target)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(target))


def test_the_installed_rudra_ignores_a_users_own_models_package(tmp_path):
    """A project with its own `models/` (and `sim/`) next to it: `rudra check --defaults` still works."""
    for part in ("models", "sim"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "__init__.py").write_text("raise ImportError('the user package was imported')\n")
    r = subprocess.run([sys.executable, "-m", "rudra", "check", "--defaults"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "[model]" in r.stdout and "[cluster]" in r.stdout
