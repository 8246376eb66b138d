"""Write a pdesurrogate dataset in The Well's HDF5 layout, so tools built on The Well can read it.

One file per run of consecutive samples of a split that share every per-sample parameter (The
Well keeps parameters as root attributes, one value per file): ``OUT/data/<split>/
<name>_<split>_NNNNN.hdf5``, with ``val`` written as The Well's ``valid`` and ``test_id`` as
``test``. Fields go to ``t0_fields`` as ``(trajectory, time, x, y)`` (transposed back from
pdesurrogate's ``(y, x)``); ``u`` and ``v`` together become the vector ``t1_fields/velocity``.
Beyond the published layout the files carry what a re-import needs to reproduce the dataset bit
for bit (readers of The Well ignore them): the per-trajectory seeds as ``scalars/seed``, the
split and the shards' attributes and metadata as root attributes ``pdesurrogate_split`` and
``pdesurrogate_attributes`` (JSON), ``units``/``long_name`` on every field.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np

from ..dataset.writer import model_time_units
from .errors import SourceError, require_module
from .well import ATTRIBUTES_ATTRIBUTE, SEED_SCALAR, SPLIT_ATTRIBUTE

WELL_SPLITS = {"train": "train", "val": "valid", "test_id": "test"}
KEPT_ATTRIBUTES_OUT = ("split", "history", "shard_index", "source")


@dataclass
class ExportResult:
    root: Path
    files: list[Path]

    def summary(self) -> str:
        return f"{self.root}: {len(self.files)} file(s) in The Well's format under {self.root}/data/"


def _runs(parameters: dict[str, np.ndarray], n: int) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of consecutive samples whose parameters are all equal."""
    runs, start = [], 0
    for i in range(1, n + 1):
        if i == n or any(values[i] != values[start] for values in parameters.values()):
            runs.append((start, i))
            start = i
    return runs


def export_well(dataset: str | Path, out: str | Path) -> ExportResult:
    h5py = require_module("h5py", "exporting to The Well (HDF5)")
    dataset, out = Path(dataset), Path(out)
    try:
        manifest = json.loads((dataset / "manifest.json").read_text())
        splits = manifest["splits"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SourceError(f"DATASET: {dataset} has no readable manifest.json with splits; is it a finished "
                          "pdesurrogate dataset? (`pdesurrogate verify` tells)") from None
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"--out {out} exists and is not empty; choose a new directory")
    name = manifest.get("import", {}).get("dataset_name") or re.sub(r"[^A-Za-z0-9]+", "_",
                                                                      manifest.get("title") or dataset.name).strip("_")
    staging = out.parent / f".{out.name}.export-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    files = []
    try:
        for split, entry in splits.items():
            directory = staging / "data" / WELL_SPLITS.get(split, split)
            directory.mkdir(parents=True, exist_ok=True)
            counter = 0
            for shard in entry["shards"]:
                with netCDF4.Dataset(dataset / shard["file"]) as nc:
                    nc.set_auto_mask(False)
                    for start, stop, path in _write_shard(h5py, nc, split, name, directory, counter):
                        files.append(out / path.relative_to(staging))
                        counter += 1
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, files)


def _meta(var) -> tuple[str, str]:
    return (var.getncattr("long_name") if "long_name" in var.ncattrs() else var.name,
            var.getncattr("units") if "units" in var.ncattrs() else "1")


def _write_shard(h5py, nc, split: str, name: str, directory: Path, counter: int):
    fields = [v for v, var in nc.variables.items() if var.dimensions == ("sample", "time", "y", "x")]
    per_sample = {v: np.asarray(var[:]) for v, var in nc.variables.items()
                  if var.dimensions == ("sample",) and v not in ("sample", "seed")}
    seeds = np.asarray(nc["seed"][:], dtype=np.int64)
    vector = "u" in fields and "v" in fields
    scalars_fields = [f for f in fields if not (vector and f in ("u", "v"))]
    attributes = {a: nc.getncattr(a) for a in nc.ncattrs() if a not in KEPT_ATTRIBUTES_OUT}
    recorded = {"attributes": {k: (v.item() if isinstance(v, np.generic) else v.tolist() if isinstance(v, np.ndarray)
                                   else v) for k, v in attributes.items()},
                "parameters": {p: list(_meta(nc[p])) for p in per_sample},
                "variables": fields}
    times, x, y = (np.asarray(nc[k][:], dtype=np.float64) for k in ("time", "x", "y"))
    units = {"time": model_time_units({a: nc["time"].getncattr(a) for a in nc["time"].ncattrs()})}
    if "units" in nc["x"].ncattrs():
        units["x"] = nc["x"].getncattr("units")
    for start, stop in _runs(per_sample, len(seeds)):
        path = directory / f"{name}_{split}_{counter:05d}.hdf5"
        counter += 1
        with h5py.File(path, "w") as f:
            f.attrs["dataset_name"] = name
            f.attrs["grid_type"] = "cartesian"
            f.attrs["n_spatial_dims"] = 2
            f.attrs["n_trajectories"] = stop - start
            f.attrs["simulation_parameters"] = list(per_sample)
            for p, values in per_sample.items():
                f.attrs[p] = float(values[start])
            f.attrs[SPLIT_ATTRIBUTE] = split
            f.attrs[ATTRIBUTES_ATTRIBUTE] = json.dumps(recorded)
            dims = f.create_group("dimensions")
            dims.attrs["spatial_dims"] = ["x", "y"]
            for key, values in (("time", times), ("x", x), ("y", y)):
                d = dims.create_dataset(key, data=values)
                d.attrs["sample_varying"] = False
                d.attrs["time_varying"] = key == "time"
                if key in units or (key == "y" and "x" in units):
                    d.attrs["units"] = units["time" if key == "time" else "x"]
            boundaries = f.create_group("boundary_conditions")
            for axis, n in (("x", len(x)), ("y", len(y))):
                bc = boundaries.create_group(f"{axis}_periodic")
                bc.attrs["associated_dims"] = [axis]
                bc.attrs["associated_fields"] = []
                bc.attrs["bc_type"] = "periodic"
                bc.attrs["sample_varying"] = False
                bc.attrs["time_varying"] = False
                mask = np.zeros(n, dtype=bool)
                mask[[0, -1]] = True
                bc.create_dataset("mask", data=mask)
                bc.create_dataset("values", data=np.zeros(int(mask.sum()), dtype=np.float32))
            scalars = f.create_group("scalars")
            scalars.attrs["field_names"] = [SEED_SCALAR]
            s = scalars.create_dataset(SEED_SCALAR, data=seeds[start:stop])
            s.attrs["sample_varying"] = True
            s.attrs["time_varying"] = False
            shape = (stop - start, len(times), len(x), len(y))
            t0 = f.create_group("t0_fields")
            t0.attrs["field_names"] = scalars_fields
            t1 = f.create_group("t1_fields")
            t1.attrs["field_names"] = ["velocity"] if vector else []
            f.create_group("t2_fields").attrs["field_names"] = []
            targets = {}
            for field in scalars_fields:
                targets[field] = (t0.create_dataset(field, shape=shape, dtype=np.float32), None)
            if vector:
                velocity = t1.create_dataset("velocity", shape=shape + (2,), dtype=np.float32)
                targets["u"], targets["v"] = (velocity, 0), (velocity, 1)
            for dataset, component in targets.values():
                dataset.attrs["dim_varying"] = [True, True]
                dataset.attrs["sample_varying"] = True
                dataset.attrs["time_varying"] = True
            for field, (dataset, component) in targets.items():
                long_name, unit = _meta(nc[field])
                dataset.attrs["units"] = unit
                if component is None:
                    dataset.attrs["long_name"] = long_name
                else:
                    dataset.attrs[f"long_name_{'xy'[component]}"] = long_name
            for i in range(start, stop):
                for field, (dataset, component) in targets.items():
                    values = np.swapaxes(np.asarray(nc[field][i], dtype=np.float32), -1, -2)  # (time, x, y)
                    if component is None:
                        dataset[i - start] = values
                    else:
                        dataset[i - start, ..., component] = values
        yield start, stop, path
