"""Checks shared by the benchmark, design and active-learning configs: each mistake is one
:class:`~pdesurrogate.errors.UserError` naming its key."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from data_gen.dataset.schema import number as dataset_number
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


def number(value, key: str, *, minimum: float | None = None, exclusive: bool = False,
           maximum: float | None = None) -> float:
    """The number rule every config shares (the dataset configs' own): a YAML number, never a quoted
    string, finite, within the range; refused in one line naming ``key``."""
    return dataset_number(value, key, minimum=minimum, exclusive=exclusive, maximum=maximum)


def positive_int(value, key: str) -> int:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise UserError(f"{key}: must be an integer >= 1 (got {value!r})")
    return value


def parse_budget(budget, key: str) -> tuple[int, float | None]:
    """A training budget ``{epochs: N}`` or ``{epochs: N, minutes: M}`` (minutes cap the wall time)."""
    if not isinstance(budget, dict) or "epochs" not in budget or set(budget) - {"epochs", "minutes"}:
        raise UserError(f"{key}: must be {{epochs: N}} or {{epochs: N, minutes: M}} (got {budget!r})")
    epochs = positive_int(budget["epochs"], f"{key}.epochs")
    minutes = budget.get("minutes")
    return epochs, None if minutes is None else number(minutes, f"{key}.minutes", minimum=0.0, exclusive=True)
