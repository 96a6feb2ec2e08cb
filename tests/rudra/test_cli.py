"""The command line answers --version and --help, and unbuilt commands refuse in one line."""
import subprocess
import sys

import pytest

from rudra.cli import LATER, main


def test_version_and_help():
    r = subprocess.run([sys.executable, "-m", "rudra", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("rudra ")
    r = subprocess.run([sys.executable, "-m", "rudra", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for command in ("check", "simulate", "train", "demo", *LATER):
        assert command in r.stdout


@pytest.mark.parametrize("command", sorted(LATER))
def test_later_commands_say_not_yet_available(capsys, command):
    assert main([command, "x.toml"]) == 2
    err = capsys.readouterr().err
    assert "not yet available" in err and err.count("\n") == 1
