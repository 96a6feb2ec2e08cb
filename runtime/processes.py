"""A local run's processes by name: each calls itself `rudra-shard<k>` or `rudra-learner<l>` (what ps and top
show), and `of_run` finds them under their launcher (Linux /proc; elsewhere names are left alone)."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

PR_SET_NAME = 15  # prctl(2): set the calling thread's name, which for the main thread is the process's


def name_this_process(role: str, index: int) -> None:
    """Call this process `rudra-<shard|learner><index>` (at most 15 bytes are kept)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_NAME, f"rudra-{'shard' if role == 'server' else role}{index}".encode()[:15], 0, 0, 0)
    except (OSError, AttributeError, TypeError):
        pass  # not Linux: the processes keep their interpreter's name


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # exited meanwhile
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def of_run(launcher: int) -> dict[str, int]:
    """{"shard0": pid, "learner0": pid, ...} of the processes a local launcher started."""
    named = {}
    for pid in descendants(launcher):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if name.startswith("rudra-"):
            named[name.removeprefix("rudra-")] = pid
    return named


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
