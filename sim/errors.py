"""The one exception a user of the simulator must act on."""


class SimError(Exception):
    """A setting the user must fix (one-line message; the CLI prints it and exits 2)."""
