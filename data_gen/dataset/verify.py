"""Check a dataset directory against its own manifest and config; name every problem found.

Checks, per shard: presence, size and sha256 against the manifest; the netCDF schema (dimensions,
coordinates and their values, variables, dtypes, units, global attributes); the sample indices,
seeds and viscosities against what the config prescribes; NaN/Inf in every saved field. Per
dataset: the split sample counts, that no two splits share a sample seed, and ``stats.json``.
Reads one sample at a time, so memory stays bounded whatever the shard size.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np

from .config import ConfigError, DatasetConfig, parse_config, parse_settings
from .layout import shard_layout
from .directory import DatasetDirectory
from .plan import Shard, dataset_shards, sample_parameters, sample_seeds
from .writer import sha256_of

REQUIRED_ATTRIBUTES = (
    "Conventions", "title", "equation", "solver", "scheme", "domain_length", "sim_resolution", "saved_resolution",
    "forcing", "initial_condition", "split", "source", "history",
)


def _config_of(directory: DatasetDirectory, problems: list[str]) -> tuple[DatasetConfig | None, dict | None]:
    """The dataset's config and manifest; completes the manifest when every shard is recorded."""
    manifest = directory.read_manifest()
    if manifest is None and directory.manifest_path.exists():
        problems.append(f"{directory.manifest_path.name}: not valid JSON")
        return None, None
    if manifest is not None:
        try:
            config = parse_settings(manifest["config"], source="manifest.json config")
        except (KeyError, TypeError):
            problems.append("manifest.json: has no 'config' text")
            return None, manifest
        except ConfigError as error:
            problems.append(f"manifest.json: its config is no longer valid: {error}")
            return None, manifest
        if not directory.pending_records():
            return config, manifest
        # A rerun regenerated shards but stopped before folding them into the manifest.
    else:
        text_path = directory.generation / "config.yaml"
        if not text_path.is_file():
            problems.append("manifest.json: missing, and no generation in progress here (is this a dataset directory?)")
            return None, None
        config = parse_config(text_path.read_text(), source=str(text_path))
    shards = dataset_shards(config)
    completed = directory.complete(config, shards)
    if completed is None:
        records = directory.records(config.fingerprint)
        for shard in directory.missing_shards(shards, records):
            problems.append(f"{shard.name}: not generated yet (rerun `pdesurrogate generate` to finish)")
        problems.append(f"manifest.json: {'missing' if manifest is None else 'out of date'}; the dataset is incomplete")
        return config, manifest
    return config, completed


def _check_schema(ds: netCDF4.Dataset, config: DatasetConfig, shard: Shard, name: str, problems: list[str]) -> None:
    split = config.split(shard.split)
    layout = shard_layout(config, split, shard)
    expected_dims = {"sample": shard.num_samples, "time": len(layout.times),
                     "y": len(layout.coordinates), "x": len(layout.coordinates)}
    for dim, size in expected_dims.items():
        if dim not in ds.dimensions:
            problems.append(f"{name}: dimension '{dim}' missing")
        elif len(ds.dimensions[dim]) != size:
            problems.append(f"{name}: dimension '{dim}' has size {len(ds.dimensions[dim])}, expected {size}")
    for attribute in REQUIRED_ATTRIBUTES:
        if attribute not in ds.ncattrs():
            problems.append(f"{name}: global attribute '{attribute}' missing")
    if "split" in ds.ncattrs() and ds.getncattr("split") != shard.split:
        problems.append(f"{name}: attribute split = {ds.getncattr('split')!r}, expected {shard.split!r}")
    if "Conventions" in ds.ncattrs() and ds.getncattr("Conventions") != "CF-1.10":
        problems.append(f"{name}: Conventions = {ds.getncattr('Conventions')!r}, expected 'CF-1.10'")

    expected_values = {"time": layout.times, "y": layout.coordinates, "x": layout.coordinates,
                       "sample": np.arange(shard.start, shard.stop)}
    for coordinate, values in expected_values.items():
        var = ds.variables.get(coordinate)
        if var is None:
            problems.append(f"{name}: coordinate '{coordinate}' missing")
            continue
        for attribute in ("units", "long_name") if coordinate != "sample" else ("long_name",):
            if attribute not in var.ncattrs():
                problems.append(f"{name}: coordinate '{coordinate}' has no {attribute}")
        if var.shape != values.shape or not np.allclose(var[:], values, rtol=0, atol=1e-12 * max(1.0, config.domain_length)):
            problems.append(f"{name}: coordinate '{coordinate}' does not hold the expected values")

    for variable in config.variables:
        var = ds.variables.get(variable)
        if var is None:
            problems.append(f"{name}: variable '{variable}' missing")
            continue
        if var.dimensions != ("sample", "time", "y", "x"):
            problems.append(f"{name}: variable '{variable}' has dimensions {var.dimensions}, expected (sample, time, y, x)")
        if var.dtype != np.float32:
            problems.append(f"{name}: variable '{variable}' is {var.dtype}, expected float32")
        for attribute in ("units", "long_name"):
            if attribute not in var.ncattrs():
                problems.append(f"{name}: variable '{variable}' has no {attribute}")

    indices = list(shard.sample_indices)
    expected_per_sample = sample_parameters(config, split, indices)
    expected_per_sample["seed"] = sample_seeds(split, indices)
    for parameter, values in expected_per_sample.items():
        var = ds.variables.get(parameter)
        if var is None:
            problems.append(f"{name}: per-sample variable '{parameter}' missing")
        elif var.dimensions != ("sample",) or var.shape != values.shape:
            problems.append(f"{name}: per-sample variable '{parameter}' has dimensions {var.dimensions}, expected (sample,)")
        elif parameter == "seed" and not np.array_equal(var[:], values):
            problems.append(f"{name}: seeds differ from those of samples {shard.start}…{shard.stop - 1} of split seed {split.seed}")
        elif parameter != "seed" and not np.allclose(var[:], values, rtol=1e-12, atol=0):
            problems.append(f"{name}: '{parameter}' differs from the config's values for these samples")


def _check_finite(ds: netCDF4.Dataset, config: DatasetConfig, name: str, problems: list[str]) -> None:
    for variable in config.variables:
        var = ds.variables.get(variable)
        if var is None or var.ndim != 4:
            continue
        bad = [i for i in range(var.shape[0]) if not np.isfinite(var[i]).all()]
        if bad:
            problems.append(f"{name}: '{variable}' has NaN/Inf in sample(s) {', '.join(map(str, bad[:10]))}"
                            f"{' …' if len(bad) > 10 else ''}")


def _check_shard(root: Path, config: DatasetConfig, shard: Shard, entry: dict | None, problems: list[str]) -> np.ndarray | None:
    """Checks one shard; returns its seeds as read from the file (None if unreadable)."""
    name, path = shard.name, root / shard.name
    if entry is None:
        problems.append(f"{name}: not listed in manifest.json")
    if not path.is_file():
        problems.append(f"{name}: missing")
        return None
    altered = False
    if entry is not None:
        size = path.stat().st_size
        if size != entry.get("bytes"):
            problems.append(f"{name}: {size} bytes, manifest says {entry.get('bytes')} (truncated or replaced)")
            altered = True
        elif sha256_of(path) != entry.get("sha256"):
            problems.append(f"{name}: sha256 does not match manifest.json (the file was altered)")
            altered = True
        if entry.get("samples") != shard.num_samples:
            problems.append(f"{name}: manifest lists {entry.get('samples')} samples, the config gives {shard.num_samples}")
    if altered:
        # Not opened: HDF5 can spin forever on corrupt metadata (one flipped byte did it), and
        # the checksum has already condemned the file; regenerating it is the remedy either way.
        return None
    try:
        ds = netCDF4.Dataset(path, "r")
    except OSError as error:
        problems.append(f"{name}: cannot be read as netCDF ({error})")
        return None
    try:
        ds.set_auto_mask(False)
        _check_schema(ds, config, shard, name, problems)
        _check_finite(ds, config, name, problems)
        return np.asarray(ds.variables["seed"][:]) if "seed" in ds.variables else None
    except (OSError, RuntimeError, IndexError) as error:
        problems.append(f"{name}: unreadable data ({error})")
        return None
    finally:
        ds.close()


@dataclass
class VerificationReport:
    root: Path
    problems: list[str] = field(default_factory=list)
    sample_counts: dict[str, int] = field(default_factory=dict)
    shards: int = 0

    @property
    def clean(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return f"{self.root}: {len(self.problems)} problem(s) found"
        counts = ", ".join(f"{name} {n}" for name, n in self.sample_counts.items())
        return (f"{self.root}: ok, {sum(self.sample_counts.values())} samples ({counts}) in {self.shards} shards "
                "(checksums, schema, finite values, counts, disjoint splits)")


def verify(root: str | Path) -> VerificationReport:
    """Every problem found in the dataset at ``root`` (none when it is clean).

    If all shards are recorded but ``manifest.json`` is missing (the last generating process died
    before writing it), the manifest is completed first.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset directory {root} does not exist")
    directory = DatasetDirectory(root)
    report = VerificationReport(root)
    problems = report.problems
    config, manifest = _config_of(directory, problems)
    if config is None:
        return report
    shards = dataset_shards(config)
    report.sample_counts = {split.name: split.samples for split in config.splits}
    report.shards = len(shards)
    manifest = manifest or {}
    if manifest and manifest.get("config_fingerprint") != config.fingerprint:
        problems.append("manifest.json: config_fingerprint does not match its own config")

    listed_splits = manifest.get("splits", {})
    for split in config.splits:
        if manifest and split.name not in listed_splits:
            problems.append(f"split '{split.name}': missing from manifest.json")
        if manifest and manifest.get("sample_counts", {}).get(split.name) != split.samples:
            problems.append(f"split '{split.name}': manifest counts {manifest.get('sample_counts', {}).get(split.name)} "
                            f"samples, the config gives {split.samples}")
        if not (root / split.name).is_dir():
            problems.append(f"split '{split.name}': directory {split.name}/ missing")
    for name in set(listed_splits) - {s.name for s in config.splits}:
        problems.append(f"split '{name}': in manifest.json but not in its config")

    entries = {e["file"]: e for s in listed_splits.values() for e in s.get("shards", []) if "file" in e}
    seeds: dict[str, list[np.ndarray]] = {s.name: [] for s in config.splits}
    if manifest:
        for shard in shards:
            found = _check_shard(root, config, shard, entries.get(shard.name), problems)
            if found is not None:
                seeds[shard.split].append(found)

    expected_files = {shard.name for shard in shards}
    for split in config.splits:
        if (root / split.name).is_dir():
            for path in sorted((root / split.name).iterdir()):
                relative = f"{split.name}/{path.name}"
                if relative not in expected_files:
                    what = "leftover temporary file of an interrupted run" if path.name.endswith(".tmp") else "unexpected file"
                    problems.append(f"{relative}: {what}")

    names = list(seeds)
    for i, first in enumerate(names):
        a = np.concatenate(seeds[first]) if seeds[first] else np.empty(0, np.int64)
        if len(np.unique(a)) != len(a):
            problems.append(f"split '{first}': {len(a) - len(np.unique(a))} duplicated sample seed(s)")
        for second in names[i + 1:]:
            b = np.concatenate(seeds[second]) if seeds[second] else np.empty(0, np.int64)
            shared = np.intersect1d(a, b)
            if len(shared):
                problems.append(f"splits '{first}' and '{second}' share {len(shared)} sample seed(s): not disjoint")

    if manifest:
        _check_stats(directory, config, problems)
    return report


def _check_stats(directory: DatasetDirectory, config: DatasetConfig, problems: list[str]) -> None:
    try:
        stats = json.loads(directory.stats_path.read_text())
    except OSError:
        problems.append("stats.json: missing")
        return
    except ValueError:
        problems.append("stats.json: not valid JSON")
        return
    if stats.get("split") != "train":
        problems.append(f"stats.json: computed on split {stats.get('split')!r}, expected 'train'")
    for variable in config.variables:
        entry = stats.get("variables", {}).get(variable)
        if not entry or not all(isinstance(entry.get(k), (int, float)) and math.isfinite(entry[k]) for k in ("mean", "std")):
            problems.append(f"stats.json: no finite mean/std for '{variable}'")

