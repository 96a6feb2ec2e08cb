"""The one error models/ raises for bad data: a one-line message saying what was expected where."""


class DatasetError(Exception):
    """A data set could not be loaded; str(error) is one line naming the path and what was expected."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
