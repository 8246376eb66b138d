"""A dataset directory as written by ``pdesurrogate generate`` (see DESIGN.md, "Dataset files").

Only metadata is read here: the manifest, the statistics, each shard's header and its per-sample
parameters (one number per sample). Field values stay on disk until a window asks for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from ..errors import UserError

FIELD_DIMS = ("sample", "time", "y", "x")


@dataclass(frozen=True)
class Shard:
    path: Path
    samples: int


@dataclass(frozen=True)
class SplitInfo:
    """The shards of one split and what they hold."""

    name: str
    shards: tuple[Shard, ...]
    frames: int
    resolution: tuple[int, int]
    variables: tuple[str, ...]  # the (sample, time, y, x) fields
    parameters: dict[str, np.ndarray]  # every (sample,) variable, concatenated over shards

    @property
    def samples(self) -> int:
        return sum(s.samples for s in self.shards)


class DatasetDirectory:
    """Read-only view of ``<root>``: its splits, statistics and shard layout."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(f"data.root: dataset directory {self.root} does not exist "
                            f"(create it with `pdesurrogate generate CONFIG --out {self.root}`)")
        manifest_path = self.root / "manifest.json"
        if not manifest_path.is_file():
            raise UserError(f"data.root: {self.root} has no manifest.json; it is not a finished dataset "
                            f"(run `pdesurrogate generate` to completion, or `pdesurrogate verify {self.root}`)")
        self.manifest = json.loads(manifest_path.read_text())
        self._splits: dict[str, SplitInfo] = {}

    @property
    def split_names(self) -> list[str]:
        listed = self.manifest.get("splits")
        if isinstance(listed, dict) and listed:
            return list(listed)
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and any(p.glob("shard-*.nc")))

    def stats(self) -> dict[str, tuple[float, float]]:
        """Per-variable ``(mean, std)`` from ``stats.json`` (computed on the train split)."""
        path = self.root / "stats.json"
        if not path.is_file():
            raise UserError(f"data.root: {self.root} has no stats.json (needed for normalisation)")
        variables = json.loads(path.read_text()).get("variables", {})
        return {name: (float(v["mean"]), float(v["std"])) for name, v in variables.items()}

    def split(self, name: str, field: str = "split") -> SplitInfo:
        if name not in self._splits:
            self._splits[name] = self._read_split(name, field)
        return self._splits[name]

    def _shard_paths(self, name: str) -> list[Path]:
        entry = (self.manifest.get("splits") or {}).get(name)
        files = entry.get("shards") if isinstance(entry, dict) else None
        if isinstance(files, list) and files:
            names = [f if isinstance(f, str) else f.get("file") or f.get("name") or f.get("path") for f in files]
            paths = [self.root / n if "/" in n else self.root / name / n for n in names]
        else:
            paths = sorted((self.root / name).glob("shard-*.nc"))
        return paths

    def _read_split(self, name: str, field: str) -> SplitInfo:
        available = self.split_names
        if name not in available:
            raise UserError(f"data.{field}: split {name!r} is not in {self.root} (available: {', '.join(available)})")
        paths = self._shard_paths(name)
        missing = [str(p) for p in paths if not p.is_file()]
        if not paths or missing:
            raise UserError(f"data.{field}: split {name!r} of {self.root} has missing shard files "
                            f"({', '.join(missing) or 'none listed'}); run `pdesurrogate verify {self.root}`")
        shards, layouts, parameters = [], set(), {}
        for path in paths:
            with netCDF4.Dataset(path) as nc:
                fields = tuple(v for v, var in nc.variables.items() if var.dimensions == FIELD_DIMS)
                per_sample = {v: np.asarray(var[:], dtype=np.float64) for v, var in nc.variables.items()
                              if var.dimensions == ("sample",) and v != "sample"}
                layouts.add((nc.dimensions["time"].size, nc.dimensions["y"].size, nc.dimensions["x"].size, fields))
                shards.append(Shard(path, nc.dimensions["sample"].size))
            for key, values in per_sample.items():
                parameters.setdefault(key, []).append(values)
        if len(layouts) != 1:
            raise UserError(f"data.{field}: shards of split {name!r} in {self.root} disagree in time/grid/variables "
                            f"({sorted(layouts)}); run `pdesurrogate verify {self.root}`")
        frames, ny, nx, fields = layouts.pop()
        return SplitInfo(name, tuple(shards), frames, (ny, nx), fields,
                         {k: np.concatenate(v) for k, v in parameters.items()})
