"""Writing result files so that a reader never sees half of one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary name beside ``path`` and rename the result onto ``path``: an
    interrupted write leaves the previous file (and a ``.tmp``), never a truncated one."""
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    temporary.replace(path)
    return path
