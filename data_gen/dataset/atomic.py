"""Files that appear whole or not at all: written to a temporary name, synced, then renamed.

The temporary name carries the process and thread, so two writers of one file (two shard
processes aggregating at once) never write into each other's temporary; the last rename wins and
either version is whole.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from .writer import fsync_directory


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` on a temporary name beside ``path``, sync it, and rename it onto ``path``; an
    interrupted write leaves the previous file, never a truncated one."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return write_atomically(path, lambda temporary: temporary.write_text(text))


def write_json(path: Path, value) -> Path:
    return atomic_write_text(path, json.dumps(value, indent=2) + "\n")
