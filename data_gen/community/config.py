"""The import config (``--config IMPORT.yaml``): splits by parameter value, caps, coarsening, viscosity.

```yaml
title: shear flow, Re 1e4 and 5e4 for training, 1e5 out of distribution
variables: [tracer, u, v]           # default: every field of the files
trajectories_per_file: 8            # keep the first 8 of each file
resolution: [64, 32]                # (ny, nx) after spectral truncation; default: the source grid
viscosity: 1.0e-3                   # or {file name: value}; needed where the files do not give one
saved_interval: 1.0                 # FNO files without a 't': time between saved frames
licence: CC-BY-4.0
citation: ...
splits:
  train:    {where: {Reynolds: [10000, 50000]}, trajectories: [0, 6]}
  val:      {where: {Reynolds: [10000, 50000]}, trajectories: [6, 7]}
  test_id:  {where: {Reynolds: [10000, 50000]}, trajectories: [7, 8]}
  test_ood: {where: {Reynolds: [100000]}}
```

A split takes, from every file whose parameters match all of ``where`` (each a list of accepted
values), the trajectories ``[start, stop)`` of ``trajectories`` (default: all). Without
``splits``: the splits a pdesurrogate export recorded in the files, else each file's trajectories
80/10/10 into train/val/test_id. The same trajectory in two splits is refused.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import SourceError

KEYS = ("title", "variables", "trajectories_per_file", "resolution", "viscosity", "saved_interval", "licence",
        "citation", "splits", "samples_per_shard")
SPLIT_KEYS = ("where", "trajectories")
SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
DEFAULT_FRACTIONS = (("train", 0.8), ("val", 0.1), ("test_id", 0.1))  # by trajectory, per file


@dataclass(frozen=True)
class SplitRule:
    name: str
    where: dict[str, tuple[float, ...]] = field(default_factory=dict)
    trajectories: tuple[int, int] | None = None  # [start, stop) of each matching file


@dataclass(frozen=True)
class ImportConfig:
    text: str = ""
    title: str | None = None
    variables: tuple[str, ...] | None = None
    trajectories_per_file: int | None = None
    resolution: tuple[int, int] | None = None  # (ny, nx)
    viscosity: float | dict[str, float] | None = None
    saved_interval: float = 1.0
    licence: str | None = None
    citation: str | None = None
    splits: tuple[SplitRule, ...] | None = None
    samples_per_shard: int | None = None

    def viscosity_of(self, path: Path) -> float | None:
        if isinstance(self.viscosity, dict):
            return self.viscosity.get(path.name)
        return self.viscosity


def _fail(key: str, message: str):
    raise SourceError(f"import config {key}: {message}")


def _number(value, key: str, *, integer: bool = False, positive: bool = True):
    if isinstance(value, str) and not integer:
        try:
            value = float(value)  # YAML reads 1e-3 (no dot) as a string
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)) or \
            not math.isfinite(value) or (positive and value <= 0) or (not positive and value < 0):
        _fail(key, f"must be {'an integer' if integer else 'a number'} {'> 0' if positive else '>= 0'} "
                   f"(got {value!r})")
    return value if integer else float(value)


def parse_import_config(text: str = "", source: str = "import config") -> ImportConfig:
    try:
        raw = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        raise SourceError(f"{source}: not valid YAML ({str(error).splitlines()[0]})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SourceError(f"{source}: must be a mapping with keys {', '.join(KEYS)}")
    for key in raw:
        if key not in KEYS:
            _fail(str(key), f"unknown key; accepted: {', '.join(KEYS)}")
    values = {"text": text}
    for key in ("title", "licence", "citation"):
        if raw.get(key) is not None:
            if not isinstance(raw[key], str):
                _fail(key, f"must be a string (got {raw[key]!r})")
            values[key] = raw[key]
    if raw.get("variables") is not None:
        if not isinstance(raw["variables"], list) or not raw["variables"] or \
                not all(isinstance(v, str) for v in raw["variables"]):
            _fail("variables", f"must be a non-empty list of field names (got {raw['variables']!r})")
        values["variables"] = tuple(raw["variables"])
    for key in ("trajectories_per_file", "samples_per_shard"):
        if raw.get(key) is not None:
            values[key] = _number(raw[key], key, integer=True)
    if raw.get("resolution") is not None:
        value = raw["resolution"]
        pair = [value, value] if isinstance(value, int) else value
        if not isinstance(pair, list) or len(pair) != 2 or \
                not all(isinstance(n, int) and not isinstance(n, bool) and n >= 4 and n % 2 == 0 for n in pair):
            _fail("resolution", f"must be an even integer >= 4 or a list [ny, nx] of them (got {value!r})")
        values["resolution"] = tuple(pair)
    if raw.get("viscosity") is not None:
        value = raw["viscosity"]
        if isinstance(value, dict):
            values["viscosity"] = {str(k): _number(v, f"viscosity.{k}") for k, v in value.items()}
        else:
            values["viscosity"] = _number(value, "viscosity")
    if raw.get("saved_interval") is not None:
        values["saved_interval"] = _number(raw["saved_interval"], "saved_interval")
    if raw.get("splits") is not None:
        values["splits"] = _splits(raw["splits"])
    return ImportConfig(**values)


def _splits(raw) -> tuple[SplitRule, ...]:
    if not isinstance(raw, dict) or not raw:
        _fail("splits", "must be a mapping of split name to {where, trajectories}")
    rules = []
    for name, rule in raw.items():
        key = f"splits.{name}"
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            _fail(key, "a split name is letters, digits, '_' and '-'")
        rule = rule or {}
        if not isinstance(rule, dict):
            _fail(key, f"must be a mapping with keys {', '.join(SPLIT_KEYS)}")
        for k in rule:
            if k not in SPLIT_KEYS:
                _fail(f"{key}.{k}", f"unknown key; accepted: {', '.join(SPLIT_KEYS)}")
        where = {}
        for parameter, accepted in (rule.get("where") or {}).items():
            accepted = accepted if isinstance(accepted, list) else [accepted]
            where[str(parameter)] = tuple(_number(v, f"{key}.where.{parameter}", positive=False)
                                          if not isinstance(v, (int, float)) or isinstance(v, bool) else float(v)
                                          for v in accepted)
        span = rule.get("trajectories")
        if span is not None:
            if not (isinstance(span, list) and len(span) == 2 and all(isinstance(i, int) and not isinstance(i, bool)
                                                                      and i >= 0 for i in span) and span[0] < span[1]):
                _fail(f"{key}.trajectories", f"must be [start, stop) with 0 <= start < stop (got {span!r})")
            span = (span[0], span[1])
        rules.append(SplitRule(name, where, span))
    if "train" not in {r.name for r in rules}:
        _fail("splits", "needs a 'train' split (the normalisation statistics are computed on it)")
    return tuple(rules)


def load_import_config(path: str | Path | None) -> ImportConfig:
    if path is None:
        return ImportConfig()
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"--config: {path} does not exist")
    return parse_import_config(path.read_text(), source=str(path))


def matches(value: float, accepted: tuple[float, ...]) -> bool:
    return any(math.isclose(value, a, rel_tol=1e-9, abs_tol=0.0) for a in accepted)
