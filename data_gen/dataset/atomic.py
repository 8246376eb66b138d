"""Files that appear whole or not at all: written to a temporary name, synced, then renamed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .writer import fsync_directory


def atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


def write_json(path: Path, value) -> None:
    atomic_write_text(path, json.dumps(value, indent=2) + "\n")
