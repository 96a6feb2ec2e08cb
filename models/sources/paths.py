"""Where file-based data sets live: [data] path, else the RUDRA_DATA environment variable."""
from __future__ import annotations

import os
from pathlib import Path

from rudra.models.errors import DatasetError
from rudra.models.spec import DataSpec

ENV = "RUDRA_DATA"


def data_root(spec: DataSpec) -> Path:
    """The folder `spec` points at; DatasetError if neither the spec nor RUDRA_DATA names one that exists."""
    where = spec.path if spec.path is not None else os.environ.get(ENV)
    if not where:
        raise DatasetError(f"{spec.name}: no data folder: set [data] path or the {ENV} environment variable")
    root = Path(where).expanduser()
    if not root.is_dir():
        source = "[data] path" if spec.path is not None else ENV
        raise DatasetError(f"{spec.name}: data folder {root} (from {source}) does not exist or is not a folder")
    return root
