"""Tiny dataset directories in the DESIGN.md format, simulated with the spectral NS solver.

16² grids and a few frames: the whole directory is written in well under a second, and the
flows are genuine solutions (a model can learn their dynamics, and conditioning on viscosity
has something to find).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from data_gen import PeriodicGrid, Stepper, rollout
from data_gen.equations import NavierStokesSpectral
from data_gen.forcing import fno_forcing
from data_gen.initial_conditions import gaussian_random_field, velocity_from_vorticity

SPLITS = {  # name: (viscosities, samples per viscosity, seed)
    "train": ([1e-2, 5e-3], 4, 0),
    "val": ([1e-2, 5e-3], 1, 1),
    "test_id": ([1e-2, 5e-3], 1, 2),
    "test_ood": ([2.5e-3], 2, 3),
}


def simulate(resolution: int, frames: int, splits: dict) -> dict[str, tuple[list[float], np.ndarray]]:
    """Per split: viscosities and vorticity ``(sample, time, y, x)`` of forced NS flows (FNO forcing).

    All splits run as one batch (the stepper adapts the step per sample, so this changes nothing
    but the cost); initial conditions come from each split's own seed.
    """
    grid = PeriodicGrid(resolution, 1.0, dtype=torch.float64)
    viscosities, initial = {}, []
    for split, (values, repeats, seed) in splits.items():
        viscosities[split] = [v for v in values for _ in range(repeats)]
        initial.append(gaussian_random_field(grid, seed, range(len(viscosities[split]))))
    nu = torch.tensor([v for values in viscosities.values() for v in values], dtype=torch.float64)
    equation = NavierStokesSpectral(grid, nu, forcing=fno_forcing(grid), forcing_amplitude=0.1)
    trajectories = rollout(Stepper(equation, interval=0.25), torch.cat(initial), frames - 1).numpy()
    out, start = {}, 0
    for split, values in viscosities.items():
        out[split] = (values, trajectories[start : start + len(values)])
        start += len(values)
    return out


def write_dataset(root: Path, resolution: int = 16, frames: int = 10, multi_variable: bool = False,
                  samples_per_shard: int = 4) -> Path:
    """Write ``root`` with every split of :data:`SPLITS` (``multi_variable``: height, u, v, vorticity)."""
    root.mkdir(parents=True, exist_ok=True)
    grid = PeriodicGrid(resolution, 1.0, dtype=torch.float64)
    coords = np.arange(resolution) / resolution
    manifest = {"config": {"equation": "navier_stokes", "saved_resolution": resolution}, "splits": {}}
    train_fields = {}
    for split, (nu, vorticity) in simulate(resolution, frames, SPLITS).items():
        fields = {"vorticity": vorticity}
        if multi_variable:
            u, v = (x.numpy() for x in velocity_from_vorticity(torch.from_numpy(vorticity), grid))
            fields = {"height": 1.0 + 0.1 * u * v, "u": u, "v": v, "vorticity": vorticity}
        if split == "train":
            train_fields = fields
        (root / split).mkdir(exist_ok=True)
        shards = []
        for index, start in enumerate(range(0, len(nu), samples_per_shard)):
            part = slice(start, start + samples_per_shard)
            data = {name: (("sample", "time", "y", "x"), f[part].astype(np.float32), {"units": "1"})
                    for name, f in fields.items()}
            data["viscosity"] = (("sample",), np.asarray(nu[part]), {"units": "m2 s-1"})
            data["forcing_amplitude"] = (("sample",), np.full(len(nu[part]), 0.1), {"units": "s-2"})
            data["seed"] = (("sample",), np.arange(start, start + len(nu[part])), {})
            dataset = xr.Dataset(data, coords={"x": coords, "y": coords, "time": 0.25 * np.arange(frames)},
                                 attrs={"Conventions": "CF-1.10", "equation": "navier_stokes", "split": split})
            name = f"{split}/shard-{index:05d}.nc"
            dataset.to_netcdf(root / name)
            shards.append({"file": name, "samples": len(nu[part]),
                           "sha256": hashlib.sha256((root / name).read_bytes()).hexdigest()})
        manifest["splits"][split] = {"samples": len(nu), "shards": shards}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))
    stats = {name: {"mean": float(f.mean()), "std": float(f.std())} for name, f in train_fields.items()}
    (root / "stats.json").write_text(json.dumps(stats, indent=1))
    return root


@pytest.fixture(autouse=True)
def one_thread():
    """These tests run many tiny operators: with two OpenMP threads on a shared 2-core machine each
    parallel region waits on a descheduled thread, and a 16² step is 10-30× slower than on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ns_dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("ns") / "ns_tiny")


@pytest.fixture(scope="session")
def multi_dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("multi") / "swe_like", multi_variable=True)
