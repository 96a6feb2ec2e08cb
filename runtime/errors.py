"""The one error the runtime raises for the user: a one-line message the CLI prints as `rudra: <msg>`."""


class LaunchError(Exception):
    """A run could not start or had to stop (bad device, port in use, a dead server or learner...)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (gloo's run to several), or its type's name."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
