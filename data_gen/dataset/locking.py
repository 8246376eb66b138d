"""An exclusive lock on a file shared by the processes that fill one directory (a dataset, a
workflow's ``--out``): :mod:`filelock`, which locks on every platform."""

from __future__ import annotations

import contextlib
from pathlib import Path

from filelock import FileLock


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block."""
    with FileLock(str(path)):
        yield
