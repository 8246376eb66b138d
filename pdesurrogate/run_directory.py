"""The output directory of a workflow run (``--out``), the same for every workflow.

- **A stamp of the config.** ``OUT/run.json`` records which workflow wrote the directory, the config
  it ran (verbatim) and the options that change what it computes (``--fast``, the digests of the
  files the config names). A rerun with the same config resumes; a different one is refused in one
  line naming the first setting that differs, so two configs' results never mix in one directory.
- **Atomic writes** (:func:`write_atomically`, :func:`write_json`, :func:`write_text`): a per-process
  temporary name, fsync, rename; a reader never sees half a file, and two processes writing the same
  file at once do not collide on the temporary.
- **One lock** (:func:`exclusive_lock`, a :mod:`filelock` lock, so it works on every platform).
- **Progress lines** through :mod:`logging` (logger ``pdesurrogate``), one line each on stderr.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from data_gen.dataset import atomic
from data_gen.dataset.atomic import write_atomically
from data_gen.dataset.locking import exclusive_lock
from data_gen.paths import load_yaml, writable_directory

from .errors import UserError

__all__ = ["RunDirectory", "enable_progress_lines", "exclusive_lock", "file_digest", "write_atomically",
           "write_json", "write_text"]

STAMP = "run.json"
LOCK = ".run.lock"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (pytest and notebooks swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # logging.StreamHandler assigns it in __init__
        pass


def enable_progress_lines() -> None:
    """Show the workflows' progress lines (INFO records of the ``pdesurrogate`` loggers) on stderr,
    once per process; a user who configured the logger themselves keeps their setting."""
    logger = logging.getLogger("pdesurrogate")
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` atomically, creating the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic.atomic_write_text(path, text)


def write_json(path: Path, value) -> Path:
    """Write ``value`` as indented JSON atomically, creating the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic.write_json(path, value)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (of the files a config names: their change is a change of config)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def first_difference(here, there, key: str = "") -> str | None:
    """The dotted key of the first setting where two parsed configs differ, with both values."""
    if isinstance(here, dict) and isinstance(there, dict):
        for name in list(here) + [k for k in there if k not in here]:
            found = first_difference(here.get(name), there.get(name), f"{key}.{name}" if key else str(name))
            if found:
                return found
        return None
    if isinstance(here, list) and isinstance(there, list) and len(here) == len(there):
        for i, (a, b) in enumerate(zip(here, there)):
            found = first_difference(a, b, f"{key}[{i}]")
            if found:
                return found
        return None
    if here != there:
        return f"{key or 'the config'}: {there!r} there, {here!r} here"
    return None


def _parsed(text: str):
    try:
        return load_yaml(text)
    except yaml.YAMLError:
        return text


@dataclass
class RunDirectory:
    """``--out`` of one ``workflow`` run (``benchmark``, ``design``, ``active``, ``quickstart``)."""

    path: Path
    workflow: str

    def __init__(self, path: str | Path, workflow: str):
        self.path, self.workflow = writable_directory(path, "--out"), workflow

    @property
    def stamp_path(self) -> Path:
        return self.path / STAMP

    def stamp(self) -> dict | None:
        """The stamp of the run this directory holds, or None; a corrupt stamp is named."""
        if not self.stamp_path.is_file():
            return None
        try:
            stamp = json.loads(self.stamp_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"--out: {self.stamp_path} is not a run stamp pdesurrogate wrote ({error}); "
                            "give another --out or remove the directory") from None
        if not isinstance(stamp, dict) or not {"workflow", "config", "options"} <= set(stamp):
            raise UserError(f"--out: {self.stamp_path} is not a run stamp pdesurrogate wrote (it lacks "
                            "workflow, config or options); give another --out or remove the directory")
        return stamp

    def claim(self, config_text: str, options: dict | None = None, create: bool = True) -> bool:
        """Make this directory the run of ``config_text`` with ``options``: stamp a new or empty
        directory (only with ``create``), accept the same run again (returns True: a resume), refuse
        anything else."""
        options = json.loads(json.dumps(options or {}))  # as it reads back from the stamp
        if not create:
            self._refuse_other(self.require(), config_text, options)
            return True
        self.path.mkdir(parents=True, exist_ok=True)
        if self.stamp() is None:
            self._refuse_foreign_files()  # before the lock file, so a refused directory is left as it was
        with exclusive_lock(self.path / LOCK):
            stamp = self.stamp()
            if stamp is None:
                self._refuse_foreign_files()
                write_json(self.stamp_path, {
                    "workflow": self.workflow, "config": config_text, "options": options,
                    "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                })
                return False
            self._refuse_other(stamp, config_text, options)
            return True

    def _refuse_foreign_files(self) -> None:
        others = sorted(p.name for p in self.path.iterdir() if p.name != LOCK)
        if others:
            raise UserError(f"--out: {self.path} is not empty ({', '.join(others[:3])}"
                            f"{', …' if len(others) > 3 else ''}) and holds no pdesurrogate run "
                            f"({STAMP} is missing); give a new or empty directory")

    def require(self) -> dict:
        """The stamp of the run this directory must already hold (to report on it, say)."""
        stamp = self.stamp()
        if stamp is None:
            raise UserError(f"--out: {self.path} holds no {self.workflow} run ({STAMP} is missing); run "
                            f"`pdesurrogate {self.workflow} CONFIG --out {self.path}` first")
        if stamp["workflow"] != self.workflow:
            raise UserError(f"--out: {self.path} holds a {stamp['workflow']} run, not a {self.workflow} run")
        return stamp

    def _refuse_other(self, stamp: dict, config_text: str, options: dict) -> None:
        if stamp["workflow"] != self.workflow:
            raise UserError(f"--out: {self.path} holds a {stamp['workflow']} run, not a {self.workflow} run; "
                            "give another --out")
        # The options first: they say the most in fewest words (--fast against a full run).
        difference = first_difference(options, stamp["options"])
        if difference is None:
            difference = first_difference(_parsed(config_text), _parsed(stamp["config"]))
        if difference is not None:
            raise UserError(f"--out: {self.path} holds a {self.workflow} run of another config ({difference}); "
                            "give another --out, or remove it to start over")
