"""Checks shared by the benchmark, design and active-learning configs: each mistake is one
:class:`~pdesurrogate.errors.UserError` naming its key."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from data_gen.paths import read_yaml

from .errors import UserError


def read_config(source: Path, keys: Iterable[str], example: str) -> tuple[str, dict]:
    """The text and mapping of the YAML config at ``source``; refuses anything but a mapping of
    ``keys`` (``example`` is named if the file is missing)."""
    keys = list(keys)
    text, raw = read_yaml(source, "CONFIG", example)
    if not isinstance(raw, dict):
        raise UserError(f"CONFIG: {source} must be a mapping of {', '.join(keys)}")
    refuse_unknown_keys(raw, keys)
    return text, raw


def data_source(raw: dict, source: Path) -> tuple[Path | None, Path | None]:
    """``(data config, dataset root)`` of a config that takes exactly one of ``data`` and ``data_root``."""
    if ("data" in raw) == ("data_root" in raw):
        raise UserError("data: give exactly one of data (a data config to generate) and data_root (a dataset)")
    data_config = resolve_path(raw["data"], "data", source) if "data" in raw else None
    data_root = resolve_path(raw["data_root"], "data_root", source) if "data_root" in raw else None
    return data_config, data_root


def refuse_unknown_keys(raw: dict, accepted: Iterable[str], where: str = "") -> None:
    """The first key of ``raw`` not in ``accepted``, with the nearest accepted one as a hint."""
    accepted = list(accepted)
    for key in raw:
        if key not in accepted:
            near = difflib.get_close_matches(str(key), accepted, n=1)
            raise UserError(f"{where}{key}: unknown key{f' (did you mean {near[0]!r}?)' if near else ''}; "
                            f"accepted: {', '.join(accepted) or 'none'}")


def resolve_path(value, key: str, source: Path) -> Path:
    """A path from the config: as given (relative to the working directory), else relative to the
    repository the config lives in (``configs/bench/X.yaml`` → its grandparent)."""
    if not isinstance(value, str) or not value:
        raise UserError(f"{key}: must be a path (got {value!r})")
    path = Path(value)
    if not path.is_absolute() and not path.exists():
        beside = source.resolve().parent.parent.parent / path
        if beside.exists():
            return beside
    return path


def positive_int(value, key: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise UserError(f"{key}: must be an integer >= 1 (got {value!r})")
    return value


def parse_budget(budget, key: str) -> tuple[int, float | None]:
    """A training budget ``{epochs: N}``, the same on every machine, or ``{epochs: N, max_minutes: M}``
    where ``max_minutes`` is only a safety cap on the wall time (a run it cuts short has trained a
    different model, and is flagged)."""
    if isinstance(budget, dict) and "minutes" in budget:
        raise UserError(f"{key}.minutes: is now max_minutes, a safety cap only: the budget is the epochs, the same "
                        f"on every machine, and a run the cap cuts short is flagged (got {budget!r})")
    if not isinstance(budget, dict) or "epochs" not in budget or set(budget) - {"epochs", "max_minutes"}:
        raise UserError(f"{key}: must be {{epochs: N}} or {{epochs: N, max_minutes: M}} (got {budget!r})")
    epochs = positive_int(budget["epochs"], f"{key}.epochs")
    minutes = budget.get("max_minutes")
    if minutes is not None and not (isinstance(minutes, (int, float)) and not isinstance(minutes, bool)
                                    and minutes > 0):
        raise UserError(f"{key}.max_minutes: must be a number > 0 (got {minutes!r})")
    return epochs, None if minutes is None else float(minutes)
