"""An exclusive lock on a file shared by the processes that fill one dataset directory."""

from __future__ import annotations

import contextlib
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent processes there are not supported
    fcntl = None


@contextlib.contextmanager
def exclusive_lock(path: Path):
    """Hold ``flock(LOCK_EX)`` on ``path`` (created if missing) for the ``with`` block."""
    with open(path, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
