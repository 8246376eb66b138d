"""The predictions file: ``<run>/predictions/<split>.nc``, what every evaluation writes and reads.

CF netCDF with dims ``sample, time, y, x``: one variable per predicted field with the dataset's name,
units and long name; coordinate ``sample`` is the sample's index in the dataset split and ``time``
the dataset's physical time of each scored frame; every per-sample parameter of the dataset
(``viscosity``, ``seed``, …) whether or not the model is conditioned on it; attributes name the
model, its checkpoint, ``score_from`` and ``horizon``.
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import xarray as xr

from ..data.directory import SplitInfo
from ..run_directory import write_atomically
from .scoring import ScoringWindow


def split_coordinates(split: SplitInfo, variables) -> tuple[dict, dict, dict]:
    """``(coords, per-variable attributes, global attributes)`` of a split, read from its first shard."""
    with netCDF4.Dataset(split.shards[0].path) as nc:
        coords = {name: (name, np.asarray(nc[name][:]), {a: nc[name].getncattr(a) for a in nc[name].ncattrs()})
                  for name in ("time", "y", "x")}
        attributes = {v: {a: nc[v].getncattr(a) for a in nc[v].ncattrs() if a in ("units", "long_name", "standard_name")}
                      for v in variables}
        source = {a: nc.getncattr(a) for a in ("equation", "solver", "domain_length", "sim_resolution")
                  if a in nc.ncattrs()}
    return coords, attributes, source


def write_predictions(path: str | Path, prediction: np.ndarray, split: SplitInfo, samples: np.ndarray,
                      variables, window: ScoringWindow, model: str, checkpoint: str | None = None) -> Path:
    """Write ``prediction (sample, frame, variable, y, x)`` of ``samples`` of ``split``; returns the path.

    Written to a temporary name and renamed, so a killed run never leaves a half file under the name.
    """
    coords, attributes, source = split_coordinates(split, variables)
    time_values, time_attrs = coords["time"][1], coords["time"][2]
    scored_times = time_values[window.frames]
    data = {name: (("sample", "time", "y", "x"), prediction[:, :, c].astype(np.float32), attributes[name])
            for c, name in enumerate(variables)}
    for name, values in split.parameters.items():
        data[name] = (("sample",), values[samples])
    dataset = xr.Dataset(
        data,
        coords={"sample": ("sample", samples.astype(np.int64), {"long_name": f"index of the sample in split {split.name}"}),
                "time": ("time", scored_times, time_attrs),
                "y": coords["y"], "x": coords["x"]},
        attrs={"Conventions": "CF-1.10", "title": f"surrogate predictions of split {split.name}", "model": model,
               "checkpoint": checkpoint or "", "split": split.name, "score_from": window.score_from,
               "horizon": window.horizon, **{f"dataset_{k}": v for k, v in source.items()}},
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, dataset.to_netcdf)
