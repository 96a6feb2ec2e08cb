"""The errors the runtime raises for the user: one-line messages the CLI prints as `rudra: <msg>`."""
from __future__ import annotations

import re
import signal

_LOCATION = re.compile(r"^\[[^\]]*\]\s*")         # gloo's "[/path/pair.cc:537] " prefix
_ADDRESS = re.compile(r"\s*\[[0-9a-fA-F.:]+\]:\d+")  # " [127.0.0.1]:32995"
_ADVICE = re.compile(r"\.\s+This is typically caused by.*$")  # gloo's advice, ending in "GLHF!" and an emoji


class LaunchError(Exception):
    """A run could not start or had to stop (bad device, port in use, a dead server or learner...)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class Interrupted(KeyboardInterrupt):
    """The launcher got SIGINT or SIGTERM: the run was ended and its directory says so."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def first_line(error: BaseException) -> str:
    """What an exception says, in one short line: its first line without gloo's source location, peer
    address and advice (gloo runs to several sentences and an emoji), or its type's name."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    text = _ADVICE.sub("", _ADDRESS.sub("", _LOCATION.sub("", lines[0])))
    return text.rstrip(". ") or type(error).__name__
