"""One shard as a CF-1.10 netCDF4 file, written batch by batch under a temporary name.

Only a complete file ever carries the final name: the shard is written to ``shard-XXXXX.nc.tmp``,
flushed to disk, hashed and renamed in one atomic step, so a crash leaves either no shard or a
whole one (and at most a stale ``.tmp`` that the next run overwrites).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np

# Keep a chunk (one sample, a run of frames) near this size: large enough for fast sequential
# reads, small enough that reading one sample does not pull in much more.
TARGET_CHUNK_BYTES = 4 * 2**20


@dataclass(frozen=True)
class ShardLayout:
    """What every shard of a split holds, apart from the samples themselves."""

    coordinates: np.ndarray  # positions of the saved points along x (and along y unless y_coordinates)
    times: np.ndarray
    variables: dict[str, tuple[str, str]]  # name -> (long_name, units), each (sample, time, y, x)
    parameters: dict[str, tuple[str, str]]  # per-sample physical parameters, (sample,)
    length_units: str = "1"
    time_units: str = "1"
    attributes: dict = field(default_factory=dict)  # global attributes
    # Positions along y where they differ from those along x: a non-square grid or another length.
    y_coordinates: np.ndarray | None = None
    seed_meaning: str = "seed of the sample's random stream, from (split seed, sample index)"

    @property
    def y(self) -> np.ndarray:
        return self.coordinates if self.y_coordinates is None else self.y_coordinates

    @property
    def x(self) -> np.ndarray:
        return self.coordinates


# CF 1.10 (and the IOOS checker) require a coordinate named `time` to carry standard_name "time"
# and units "<unit> since <epoch>". A nondimensional model time has no such unit, so it is written
# as seconds since the epoch: the stored numbers are the model times unchanged, and the comment
# says how to read them (xarray: `decode_times=False` keeps them as numbers).
EPOCH = "1970-01-01 00:00:00"
NONDIMENSIONAL_TIME = ("nondimensional model time, written as seconds since the epoch because CF requires a time "
                       "axis in '<unit> since <epoch>'; the values are the model times (open with "
                       "decode_times=False to read them as numbers)")


def time_attributes(time_units: str) -> dict:
    nondimensional = time_units in ("1", "")
    return {"long_name": "simulation time" + (" (nondimensional)" if nondimensional else ""), "standard_name": "time",
            "axis": "T", "units": f"{'seconds' if nondimensional else time_units} since {EPOCH}",
            "calendar": "proleptic_gregorian", **({"comment": NONDIMENSIONAL_TIME} if nondimensional else {})}


def model_time_units(attributes: dict) -> str:
    """The model's own time unit from a ``time`` coordinate written by :func:`time_attributes`."""
    units = str(attributes.get("units", "1"))
    if attributes.get("comment") == NONDIMENSIONAL_TIME:
        return "1"
    return units.split(" since ")[0]


def position_attributes(axis: str, length_units: str) -> dict:
    attributes = {"long_name": f"{axis} position", "axis": axis.upper(), "units": length_units}
    if length_units not in ("1", ""):  # a length: CF's projected coordinates (never longitude/latitude)
        attributes["standard_name"] = f"projection_{axis}_coordinate"
    return attributes


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ShardWriter:
    def __init__(self, path: Path, layout: ShardLayout, sample_indices, parameters: dict[str, np.ndarray],
                 seeds: np.ndarray):
        self.path = Path(path)
        self.temporary = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.variables = list(layout.variables)
        ny, nx, frames, samples = len(layout.y), len(layout.x), len(layout.times), len(sample_indices)
        ds = self.dataset = netCDF4.Dataset(self.temporary, "w", format="NETCDF4")
        ds.setncatts(layout.attributes)
        ds.createDimension("sample", samples)
        ds.createDimension("time", frames)
        ds.createDimension("y", ny)
        ds.createDimension("x", nx)

        def variable(name, dtype, dims, attributes, values=None, **kw):
            var = ds.createVariable(name, dtype, dims, **kw)
            var.setncatts(attributes)
            if values is not None:
                var[:] = values
            return var

        variable("sample", "i8", ("sample",), {"long_name": "sample index within the split"},
                 np.asarray(sample_indices, dtype=np.int64))
        variable("time", "f8", ("time",), time_attributes(layout.time_units), layout.times)
        for axis, positions in (("y", layout.y), ("x", layout.x)):
            variable(axis, "f8", (axis,), position_attributes(axis, layout.length_units), positions)
        for name, (long_name, units) in layout.parameters.items():
            variable(name, "f8", ("sample",), {"long_name": long_name, "units": units}, parameters[name])
        variable("seed", "i8", ("sample",), {"long_name": layout.seed_meaning}, seeds)
        frames_per_chunk = max(1, min(frames, TARGET_CHUNK_BYTES // (4 * ny * nx)))
        for name, (long_name, units) in layout.variables.items():
            # fill_value=False: every value is written, so skip HDF5's prefill pass.
            variable(name, "f4", ("sample", "time", "y", "x"), {"long_name": long_name, "units": units},
                     chunksizes=(1, frames_per_chunk, ny, nx), fill_value=False)

    def write(self, start: int, block: np.ndarray) -> None:
        """``block`` is ``(batch, time, variable, y, x)`` float32 for samples ``start …`` of this shard."""
        stop = start + block.shape[0]
        for v, name in enumerate(self.variables):
            self.dataset.variables[name][start:stop] = block[:, :, v]

    def commit(self) -> tuple[str, int]:
        """Close, flush, hash and rename into place; returns ``(sha256, size in bytes)``."""
        self.dataset.close()
        with open(self.temporary, "rb+") as f:
            os.fsync(f.fileno())
        digest, size = sha256_of(self.temporary), self.temporary.stat().st_size
        os.replace(self.temporary, self.path)
        fsync_directory(self.path.parent)
        return digest, size

    def abort(self) -> None:
        try:
            self.dataset.close()
        except RuntimeError:
            pass  # already closed
        self.temporary.unlink(missing_ok=True)
