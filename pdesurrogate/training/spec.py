"""What a workflow needs to know of a ``pdesurrogate fit`` config before it trains it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config_checks import positive_int
from ..errors import UserError
from .cli import check_config_file


@dataclass(frozen=True)
class ModelSpec:
    """One model config: its name in tables and folders, and the data settings it states."""

    name: str  # the config's file name without .yaml: how tables and folders name the model
    config: Path
    variables: tuple[str, ...]
    history: int
    conditioning: tuple[str, ...]


def read_model_spec(path: Path, key: str) -> ModelSpec:
    """The spec of the fit config at ``path`` (named ``key`` in the workflow's config), read through
    the class-path allowlist; refused in one line when it is not a fit config."""
    raw = check_config_file(path, key) or {}
    data = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(data, dict) or not data.get("variables"):
        raise UserError(f"{key}: {path} has no data.variables; is it a `pdesurrogate fit` config?")
    history = data.get("history", 1)
    positive_int(history, f"{key}: {path}: data.history")
    return ModelSpec(path.stem, path, tuple(data["variables"]), history, tuple(data.get("conditioning") or ()))
