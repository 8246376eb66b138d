"""A dataset directory as written by ``pdesurrogate generate`` (the dataset format: manifest.json, stats.json, <split>/shard-NNNNN.nc).

Only metadata is read here: the manifest, the statistics, each shard's header and its per-sample
parameters (one number per sample). Field values stay on disk until a window asks for them.

Each shard is checked against the sha256 the manifest records the first time a split is opened, so a
flipped byte is refused by name instead of trained on. Hashing runs at about 2 GB/s on a 2-core
CPU; a shard already checked in this process, unchanged in size and mtime since, is not
hashed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from data_gen.dataset.config import ConfigError, parse_config
from data_gen.dataset.writer import sha256_of

from ..errors import UserError

FIELD_DIMS = ("sample", "time", "y", "x")

# (path, size, mtime_ns) of shards whose sha256 matched their manifest in this process.
_CHECKED: set[tuple[str, int, int]] = set()


def check_shard(path: Path, expected: str | None, root: Path, field: str) -> None:
    """Refuse a shard whose sha256 differs from the manifest's record, naming it."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _CHECKED:
        return
    if sha256_of(path) != expected:
        raise UserError(f"data.{field}: shard {path} does not match the sha256 in {root}/manifest.json (the file "
                        f"was altered or damaged after generation); run `pdesurrogate verify {root}`")
    _CHECKED.add(key)


@dataclass(frozen=True)
class ShardFile:
    """One shard on disk and the number of samples it holds."""

    path: Path
    samples: int


@dataclass(frozen=True)
class SplitInfo:
    """The shards of one split and what they hold."""

    name: str
    shards: tuple[ShardFile, ...]
    frames: int
    resolution: tuple[int, int]
    variables: tuple[str, ...]  # the (sample, time, y, x) fields
    parameters: dict[str, np.ndarray]  # every (sample,) variable, concatenated over shards

    @property
    def samples(self) -> int:
        return sum(s.samples for s in self.shards)


class DatasetReader:
    """Read-only view of ``<root>`` for training: its splits, statistics and shard layout.

    (The generator's own bookkeeping of the same directory is ``data_gen.dataset.directory``; this
    reads only what a finished dataset's manifest guarantees.)
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(f"data.root: dataset directory {self.root} does not exist "
                            f"(create it with `pdesurrogate generate CONFIG --out {self.root}`)")
        manifest_path = self.root / "manifest.json"
        if not manifest_path.is_file():
            raise UserError(f"data.root: {self.root} has no manifest.json; it is not a finished dataset "
                            f"(run `pdesurrogate generate` to completion, or `pdesurrogate verify {self.root}`)")
        self.manifest = self._read_json(manifest_path)
        splits = self.manifest.get("splits") if isinstance(self.manifest, dict) else None
        if not isinstance(splits, dict) or not splits:
            raise UserError(f"data.root: {manifest_path} lists no splits; it was not written by "
                            f"`pdesurrogate generate` (run `pdesurrogate verify {self.root}`)")
        self._listed: dict[str, dict] = splits
        self._splits: dict[str, SplitInfo] = {}

    def dataset_config(self):
        """The generation config (:class:`data_gen.dataset.config.DatasetConfig`) the manifest
        records, or ``None`` for data without one (imported data)."""
        text = self.manifest.get("config")
        if not isinstance(text, str):
            return None
        try:
            return parse_config(text, f"{self.root}/manifest.json config")
        except ConfigError as error:
            raise UserError(f"data.root: {self.root}/manifest.json records a config this version cannot read "
                            f"({error}); run `pdesurrogate verify {self.root}`") from None

    @property
    def split_names(self) -> list[str]:
        return list(self._listed)

    def stats(self) -> dict[str, tuple[float, float]]:
        """Per-variable ``(mean, std)`` from ``stats.json`` (computed on the train split)."""
        path = self.root / "stats.json"
        if not path.is_file():
            raise UserError(f"data.root: {self.root} has no stats.json (needed for normalisation)")
        variables = self._read_json(path).get("variables", {})
        return {name: (float(v["mean"]), float(v["std"])) for name, v in variables.items()}

    def _read_json(self, path: Path):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            # A truncated copy, a hand edit or another file under the name: name the file, not a
            # decoder traceback.
            raise UserError(f"data.root: {path} is not valid JSON ({error}); "
                            f"run `pdesurrogate verify {self.root}`") from None

    def split(self, name: str, field: str = "split") -> SplitInfo:
        if name not in self._splits:
            self._splits[name] = self._read_split(name, field)
        return self._splits[name]

    def _shard_paths(self, name: str) -> list[tuple[Path, str | None]]:
        # The generator records each shard as {"file": "<split>/shard-XXXXX.nc", "sha256": ...}, relative to root.
        try:
            return [(self.root / shard["file"], shard.get("sha256")) for shard in self._listed[name]["shards"]]
        except (KeyError, TypeError):
            raise UserError(f"data.root: the entry of split {name!r} in {self.root}/manifest.json has no "
                            f"shard list; run `pdesurrogate verify {self.root}`") from None

    def require_split(self, name: str, field: str = "split") -> None:
        """Refuse a split the manifest does not list, naming the config ``field`` that asked for it."""
        if name not in self._listed:
            raise UserError(f"data.{field}: split {name!r} is not in {self.root} "
                            f"(available: {', '.join(self.split_names)})")

    def _open(self, path: Path, field: str) -> netCDF4.Dataset:
        try:
            return netCDF4.Dataset(path)
        except OSError as error:  # the checksum matched, so the dataset was written this way
            raise UserError(f"data.{field}: shard {path} is not a readable netCDF file ({error.strerror or error}); "
                            f"run `pdesurrogate verify {self.root}`") from None

    def _read_split(self, name: str, field: str) -> SplitInfo:
        self.require_split(name, field)
        listed = self._shard_paths(name)
        missing = [str(p) for p, _ in listed if not p.is_file()]
        if not listed or missing:
            raise UserError(f"data.{field}: split {name!r} of {self.root} has missing shard files "
                            f"({', '.join(missing) or 'none listed'}); run `pdesurrogate verify {self.root}`")
        shards, layouts, parameters = [], set(), {}
        for path, sha256 in listed:
            check_shard(path, sha256, self.root, field)
            with self._open(path, field) as nc:
                fields = tuple(v for v, var in nc.variables.items() if var.dimensions == FIELD_DIMS)
                # Seeds are 63-bit integers: a float64 would round them.
                per_sample = {v: np.asarray(var[:], dtype=np.int64 if var.dtype.kind in "iu" else np.float64)
                              for v, var in nc.variables.items() if var.dimensions == ("sample",) and v != "sample"}
                layouts.add((nc.dimensions["time"].size, nc.dimensions["y"].size, nc.dimensions["x"].size, fields))
                shards.append(ShardFile(path, nc.dimensions["sample"].size))
            for key, values in per_sample.items():
                parameters.setdefault(key, []).append(values)
        if len(layouts) != 1:
            raise UserError(f"data.{field}: shards of split {name!r} in {self.root} disagree in time/grid/variables "
                            f"({sorted(layouts)}); run `pdesurrogate verify {self.root}`")
        frames, ny, nx, fields = layouts.pop()
        return SplitInfo(name, tuple(shards), frames, (ny, nx), fields,
                         {k: np.concatenate(v) for k, v in parameters.items()})
