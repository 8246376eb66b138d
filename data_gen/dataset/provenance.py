"""Where a dataset came from: the package version, the git commit of the source tree, the time."""

from __future__ import annotations

import datetime
import subprocess
from importlib import metadata
from pathlib import Path


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def package_version() -> str:
    try:
        return metadata.version("pdesurrogate")
    except metadata.PackageNotFoundError:
        from .. import __version__

        return __version__


def source_revision() -> dict:
    """The git commit of the source tree, when the package runs from a checkout (else nulls)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        def git(*args):
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()

        return {"commit": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
