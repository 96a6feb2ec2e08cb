"""The command line answers --version and --help."""
import subprocess
import sys



def test_version_and_help():
    r = subprocess.run([sys.executable, "-m", "rudra", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("rudra ")
    r = subprocess.run([sys.executable, "-m", "rudra", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for command in ("check", "simulate", "train", "demo", "calibrate", "compare"):
        assert command in r.stdout
