"""Every shipped examples/sim_*.toml runs through `rudra simulate` (shortened to a few updates)."""
from pathlib import Path

import pytest

from rudra.protocol import read_run_json

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("sim_*.toml"))


def test_examples_cover_every_protocol_and_architecture():
    """A newcomer finds a file to copy for hardsync, softsync and async, and for base, adv and adv*."""
    text = "\n".join(p.read_text() for p in EXAMPLES)
    for value in ('"hardsync"', '"softsync"', '"async"', '"base"', '"adv"', '"adv*"', "fan_in"):
        assert value in text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_simulates(path, tmp_path, capsys):
    """`rudra simulate FILE` exits 0, writes run.json with kind "sim" and prints the summary."""
    cli = pytest.importorskip("rudra.cli")
    out = tmp_path / "run"
    rc = cli.main(["simulate", str(path), "--out", str(out), "--set", "sim.max_updates=20", "--set", "sim.speedup=false"])
    assert rc == 0
    info = read_run_json(out)
    assert info["kind"] == "sim" and info["summary"]["updates"] == 20
    assert "gradients_per_second" in capsys.readouterr().out
