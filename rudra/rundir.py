"""Run directories as the command line meets them: one to write a new run into, one to resume.

Both checks happen before any work starts, so a path that cannot be used is
one line naming it (ConfigError), never an OSError from deep inside a driver.
"""
from __future__ import annotations

import os
from pathlib import Path

from rudra.config import ConfigError, shown
from rudra.protocol.trace import read_run_json


def writable(path: Path) -> Path:
    """Create `path` (and its parents) and make sure a run can write there."""
    where = shown(str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"cannot use {where} as a run directory: it is a file, not a folder") from None
    except OSError as e:
        raise ConfigError(f"cannot create the run directory {where}: {e.strerror or e.__class__.__name__}") from None
    # access(2) also answers EROFS for root, whom permissions do not stop
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write in the run directory {where}: read-only file system or no permission")
    return path


def resumable(path: Path) -> dict:
    """The config of the unfinished `rudra train` run in `path`; ConfigError saying why it cannot resume."""
    where = shown(str(path))
    try:
        info = read_run_json(path)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"--resume {where}: no run.json there; expected a run directory of `rudra train`") from None
    except (OSError, ValueError) as e:  # ValueError: not JSON, or not UTF-8
        raise ConfigError(f"--resume {where}: cannot read its run.json ({e.__class__.__name__})") from None
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise ConfigError(f"--resume {where}: its run.json holds no config; expected a run directory of `rudra train`")
    if info.get("kind") == "sim":
        raise ConfigError(f"--resume {where}: a simulator run (`rudra simulate`) has nothing to resume; "
                          "only a `rudra train` run does")
    # end-of-run facts sit at the top of run.json (protocol.trace.run_outcome), in "summary" in older runs
    summary = info.get("summary") if isinstance(info.get("summary"), dict) else {}
    outcome = {**summary, **info}
    if outcome.get("status") == "finished":
        raise ConfigError(f"--resume {where}: that run finished already (stopped by "
                          f"{outcome.get('stopped_by', 'its target')}); nothing to resume: start a new run "
                          "with --out DIR or --force")
    return info["config"]
