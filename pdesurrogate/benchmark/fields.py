"""The fields the figures draw: units and true frames from the dataset (:class:`DatasetInfo`), and the
last scored frame of a run's ``predictions/<split>.nc`` (:func:`read_last_frame`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

from ..data import DatasetReader
from ..errors import UserError


@dataclass
class DatasetInfo:
    """What the figures take from the dataset: units, and the truth frames."""

    reader: DatasetReader | None
    time_units: str = ""
    viscosity_label: str = "viscosity ν"
    space_units: str = ""
    field_labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path, splits: Sequence[str]) -> tuple[DatasetInfo, str | None]:
        """The dataset at ``root`` with the units of the first readable split of ``splits``, and why it
        could not be opened (``None`` when it could)."""
        try:
            reader = DatasetReader(root)
        except UserError as error:
            return cls(None), str(error)
        info = cls(reader)
        for name in splits:
            if name not in reader.split_names:
                continue
            try:
                shard = reader.split(name).shards[0].path
                with netCDF4.Dataset(shard) as nc:
                    def units(variable):
                        return nc[variable].getncattr("units") if "units" in nc[variable].ncattrs() else ""
                    info.time_units = units("time")
                    info.space_units = units("x")
                    if "viscosity" in nc.variables:
                        info.viscosity_label = f"viscosity ν [{units('viscosity')}]" if units("viscosity") else "viscosity ν"
                    for v, var in nc.variables.items():
                        if var.dimensions == ("sample", "time", "y", "x"):
                            name_ = var.getncattr("long_name") if "long_name" in var.ncattrs() else v
                            info.field_labels[v] = f"{name_} [{units(v)}]" if units(v) else name_
            except (UserError, OSError):
                continue
            break
        return info, None

    def time(self, value: float) -> str:
        """A time with its units, unless it has none (``1``: nondimensional)."""
        return f"{value:.4g}" + (f" {self.time_units}" if self.time_units not in ("", "1") else "")

    def split(self, name: str):
        if self.reader is None or name not in self.reader.split_names:
            return None
        try:
            return self.reader.split(name)
        except UserError:
            return None

    def truth(self, split_name: str, samples: np.ndarray, variable: str, time: float) -> np.ndarray | None:
        """``(sample, y, x)`` true fields of ``samples`` of a split at physical ``time``."""
        split = self.split(split_name)
        if split is None:
            return None
        offsets = np.cumsum([0] + [s.samples for s in split.shards])
        out = np.full((len(samples), *split.resolution), np.nan)
        for i, shard in enumerate(split.shards):
            inside = (samples >= offsets[i]) & (samples < offsets[i + 1])
            if not inside.any():
                continue
            with netCDF4.Dataset(shard.path) as nc:
                nc.set_auto_mask(False)
                times = np.asarray(nc["time"][:], dtype=np.float64)
                j = int(np.argmin(np.abs(times - time)))
                if not np.isclose(times[j], time, rtol=1e-6, atol=1e-9):
                    return None
                frame = np.asarray(nc[variable][:, j], dtype=np.float64)
            out[inside] = frame[samples[inside] - offsets[i]]
        return out


@dataclass
class Predictions:
    """The last scored frame of one run on one split."""

    samples: np.ndarray
    time: float
    fields: dict[str, np.ndarray]  # variable -> (sample, y, x)
    x: np.ndarray
    y: np.ndarray


def read_last_frame(path: Path) -> Predictions:
    """The last scored frame of every field of a predictions file."""
    with xr.open_dataset(path, decode_times=False) as ds:  # model times as numbers, not dates
        variables = [v for v, var in ds.data_vars.items() if var.dims == ("sample", "time", "y", "x")]
        fields = {v: np.asarray(ds[v].isel(time=-1).values, dtype=np.float64) for v in variables}
        return Predictions(np.asarray(ds["sample"].values, dtype=np.int64), float(ds["time"].values[-1]), fields,
                           np.asarray(ds["x"].values), np.asarray(ds["y"].values))


def prediction_path(out: Path, model: str, seed: str, split: str) -> Path:
    """Where the benchmark runner writes a run's predictions of a split."""
    return out / "runs" / model / f"seed-{seed}" / "predictions" / f"{split}.nc"
