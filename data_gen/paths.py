"""Paths a user names on the command line: checked before any work, each failure one line naming the option."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from .errors import ParameterError


class ConfigLoader(yaml.SafeLoader):
    """YAML's safe loader with YAML 1.2's floats: ``1e-3`` is the number 0.001 (YAML 1.1, PyYAML's
    default, reads a float without a dot as the string "1e-3"). With it every config keeps one
    number rule: a number is written as a YAML number, a quoted string is never taken for one."""


ConfigLoader.yaml_implicit_resolvers = {key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def load_yaml(text: str):
    """The value of the YAML ``text`` under :class:`ConfigLoader` (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def writable_directory(path: str | Path, option: str = "--out") -> Path:
    """``path`` if it is, or can be created as, a directory this process may write into."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option}: {path} is a file, not a directory")
    existing = path
    while not existing.exists():  # the nearest ancestor that exists decides whether we can create it
        existing = existing.parent
    if not existing.is_dir():
        raise ParameterError(f"{option}: {path} cannot be created: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(f"{option}: {path} is not writable (no permission to write in {existing}, "
                             "or a read-only file system)")
    return path


def readable_file(path: str | Path, option: str, example: str = "") -> Path:
    """``path`` if it is a file; a directory or a missing path is named as such."""
    path = Path(path)
    hint = f" (e.g. {example})" if example else ""
    if path.is_dir():
        raise ParameterError(f"{option}: {path} is a directory, not a file{hint}")
    if not path.is_file():
        raise ParameterError(f"{option}: {path} does not exist{hint}")
    return path


def read_yaml(path: str | Path, option: str, example: str = "") -> tuple[str, object]:
    """``(text, parsed value)`` of the YAML file ``path``; a missing, binary or malformed file is one
    :class:`ParameterError` naming ``option``."""
    path = readable_file(path, option, example)
    try:
        text = path.read_text(encoding="utf-8")
        return text, load_yaml(text)
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).strip().splitlines()[0]
        raise ParameterError(f"{option}: {path} is not valid YAML ({first})") from None
