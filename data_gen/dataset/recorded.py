"""Check an imported dataset against its own manifest (it has no generation config to re-derive from).

The manifest of an import records the grid, the times, the variables with their units, the
per-sample parameters and every shard's size and sha256; each shard is checked against those,
for NaN/Inf, and the splits for disjoint sample seeds, as :mod:`.verify` does for generated data.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

from .writer import sha256_of

REQUIRED_ATTRIBUTES = ("Conventions", "title", "equation", "split", "source", "history", "imported_from",
                       "licence", "citation", "domain_length_x", "domain_length_y")
FIELD_DIMS = ("sample", "time", "y", "x")


def expected_positions(grid: dict) -> dict[str, np.ndarray]:
    (ny, nx), (ly, lx), (y0, x0) = grid["shape"], grid["domain_length"], grid["origin"]
    return {"y": y0 + np.arange(ny) * (ly / ny), "x": x0 + np.arange(nx) * (lx / nx),
            "time": np.asarray(grid["times"], dtype=np.float64)}


def check_imported_shard(root: Path, manifest: dict, split: str, entry: dict, problems: list[str]) -> np.ndarray | None:
    name, path = entry["file"], root / entry["file"]
    if not path.is_file():
        problems.append(f"{name}: missing")
        return None
    size = path.stat().st_size
    if size != entry.get("bytes"):
        problems.append(f"{name}: {size} bytes, manifest says {entry.get('bytes')} (truncated or replaced)")
        return None
    if sha256_of(path) != entry.get("sha256"):
        problems.append(f"{name}: sha256 does not match manifest.json (the file was altered)")
        return None
    grid = manifest["grid"]
    try:
        ds = netCDF4.Dataset(path)
    except OSError as error:
        problems.append(f"{name}: cannot be read as netCDF ({error})")
        return None
    with ds:
        ds.set_auto_mask(False)
        expected = expected_positions(grid)
        sizes = {"sample": entry["samples"], "time": len(expected["time"]), "y": len(expected["y"]),
                 "x": len(expected["x"])}
        for dim, n in sizes.items():
            if dim not in ds.dimensions or len(ds.dimensions[dim]) != n:
                problems.append(f"{name}: dimension '{dim}' should have size {n}")
        for attribute in REQUIRED_ATTRIBUTES:
            if attribute not in ds.ncattrs():
                problems.append(f"{name}: global attribute '{attribute}' missing")
        if "split" in ds.ncattrs() and ds.getncattr("split") != split:
            problems.append(f"{name}: attribute split = {ds.getncattr('split')!r}, expected {split!r}")
        for coordinate, values in expected.items():
            var = ds.variables.get(coordinate)
            scale = max(1.0, float(np.abs(values).max(initial=0.0)))
            if var is None or var.shape != values.shape or not np.allclose(var[:], values, rtol=0, atol=1e-9 * scale):
                problems.append(f"{name}: coordinate '{coordinate}' does not hold the recorded values")
        first = entry.get("first_sample", 0)
        sample = ds.variables.get("sample")
        if sample is None or not np.array_equal(sample[:], np.arange(first, first + entry["samples"])):
            problems.append(f"{name}: 'sample' is not {first} … {first + entry['samples'] - 1}")
        for variable, (long_name, units) in manifest.get("variable_metadata", {}).items():
            var = ds.variables.get(variable)
            if var is None:
                problems.append(f"{name}: variable '{variable}' missing")
                continue
            if var.dimensions != FIELD_DIMS or var.dtype != np.float32:
                problems.append(f"{name}: variable '{variable}' is {var.dtype} {var.dimensions}, expected float32 "
                                f"{FIELD_DIMS}")
                continue
            if (var.getncattr("units") if "units" in var.ncattrs() else None) != units:
                problems.append(f"{name}: variable '{variable}' has units other than the recorded {units!r}")
            bad = [i for i in range(var.shape[0]) if not np.isfinite(var[i]).all()]
            if bad:
                problems.append(f"{name}: '{variable}' has NaN/Inf in sample(s) {', '.join(map(str, bad[:10]))}")
        for parameter in list(manifest.get("parameters", {})) + ["seed"]:
            var = ds.variables.get(parameter)
            if var is None or var.dimensions != ("sample",):
                problems.append(f"{name}: per-sample variable '{parameter}' missing")
            elif parameter != "seed" and not np.isfinite(var[:]).all():
                problems.append(f"{name}: per-sample '{parameter}' is not finite")
        return np.asarray(ds["seed"][:]) if "seed" in ds.variables else None


def verify_imported(root: Path, manifest: dict, problems: list[str]) -> dict[str, list[np.ndarray]]:
    """Problems go to ``problems``; returns each split's seeds as read (for the disjointness check)."""
    seeds: dict[str, list[np.ndarray]] = {}
    for key in ("grid", "splits", "variable_metadata", "import"):
        if key not in manifest:
            problems.append(f"manifest.json: '{key}' missing from an imported dataset's manifest")
            return seeds
    listed = set()
    for split, entry in manifest["splits"].items():
        seeds[split] = []
        if not (root / split).is_dir():
            problems.append(f"split '{split}': directory {split}/ missing")
            continue
        if sum(s.get("samples", 0) for s in entry.get("shards", [])) != entry.get("samples"):
            problems.append(f"split '{split}': its shards do not add up to the {entry.get('samples')} samples listed")
        for shard in entry.get("shards", []):
            listed.add(shard["file"])
            found = check_imported_shard(root, manifest, split, shard, problems)
            if found is not None:
                seeds[split].append(found)
        for path in sorted((root / split).iterdir()):
            if f"{split}/{path.name}" not in listed:
                problems.append(f"{split}/{path.name}: unexpected file")
    return seeds
