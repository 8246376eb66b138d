"""Tiny source files written from the formats' published rules (never from a sample file).

Every field is analytic, distinct along x and y, in time and across trajectories, so a test can
check axis order, orientation, times and parameters exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NX, NY, LX, LY = 8, 4, 1.0, 2.0
TIMES = np.array([0.0, 0.25, 0.5])


def tracer(x, y, t, trajectory, reynolds):
    """Periodic in x (period 1) and y (period 2), band-limited: |kx| ≤ 1, |ky| ≤ 1 cycles per box."""
    return (np.sin(2 * np.pi * x / LX) + 2 * np.cos(2 * np.pi * y / LY) + t + 10 * trajectory
            + reynolds / 1e4).astype(np.float32)


def pressure(x, y, t, trajectory, reynolds):
    return (x + 10 * y + 100 * t + 1000 * trajectory).astype(np.float32)


def velocity(x, y, t, trajectory, reynolds):
    return np.stack([np.cos(2 * np.pi * x / LX) + t, np.sin(2 * np.pi * y / LY) - trajectory], -1).astype(np.float32)


def grid():
    return np.arange(NX) * LX / NX, np.arange(NY) * LY / NY


def write_well(path: Path, reynolds: float = 1e4, schmidt: float = 1.0, trajectories: int = 3,
               boundary: str = "periodic", nx: int = NX, ny: int = NY, drop: str | None = None,
               parameters: list[str] | None = None, times: np.ndarray = TIMES) -> Path:
    """A shear_flow-like file of The Well: t0 tracer and pressure, t1 velocity, arrays (x, y)."""
    import h5py

    x = np.arange(nx) * LX / nx
    y = np.arange(ny) * LY / ny
    X, Y = np.meshgrid(x, y, indexing="ij")  # (x, y): The Well's order
    with h5py.File(path, "w") as f:
        f.attrs["dataset_name"] = "shear_flow"
        f.attrs["grid_type"] = "cartesian"
        f.attrs["n_spatial_dims"] = 2
        f.attrs["n_trajectories"] = trajectories
        f.attrs["simulation_parameters"] = parameters or ["Reynolds", "Schmidt"]
        f.attrs["Reynolds"] = reynolds
        f.attrs["Schmidt"] = schmidt
        dims = f.create_group("dimensions")
        dims.attrs["spatial_dims"] = ["x", "y"]
        for name, values in (("time", times), ("x", x), ("y", y)):
            d = dims.create_dataset(name, data=values.astype(np.float32))
            d.attrs["sample_varying"] = False
            d.attrs["time_varying"] = name == "time"
        bcs = f.create_group("boundary_conditions")
        for axis, kind in (("x", boundary), ("y", "periodic")):
            bc = bcs.create_group(f"{axis}_{kind}")
            bc.attrs["associated_dims"] = [axis]
            bc.attrs["associated_fields"] = ["tracer"] if kind != "periodic" else []
            bc.attrs["bc_type"] = kind.upper() if kind == "periodic" else kind
            bc.attrs["sample_varying"] = False
            bc.attrs["time_varying"] = False
            mask = np.zeros(nx if axis == "x" else ny, dtype=bool)
            mask[[0, -1]] = True
            bc.create_dataset("mask", data=mask)
            bc.create_dataset("values", data=np.zeros(2, np.float32))
        scalars = f.create_group("scalars")  # The Well repeats its parameters as constant scalars
        scalars.attrs["field_names"] = ["Reynolds", "Schmidt"]
        for name, value in (("Reynolds", reynolds), ("Schmidt", schmidt)):
            d = scalars.create_dataset(name, data=np.float64(value))
            d.attrs["sample_varying"] = False
            d.attrs["time_varying"] = False
        t0, t1 = f.create_group("t0_fields"), f.create_group("t1_fields")
        f.create_group("t2_fields").attrs["field_names"] = []
        t0.attrs["field_names"] = ["tracer", "pressure"]
        t1.attrs["field_names"] = ["velocity"]
        for group, name, law in ((t0, "tracer", tracer), (t0, "pressure", pressure), (t1, "velocity", velocity)):
            if name == drop:
                continue
            data = np.stack([np.stack([law(X, Y, t, b, reynolds) for t in times]) for b in range(trajectories)])
            d = group.create_dataset(name, data=data)
            d.attrs["dim_varying"] = [True, True]
            d.attrs["sample_varying"] = True
            d.attrs["time_varying"] = True
    return path


# --- FNO ------------------------------------------------------------------------------------------

S, T_FNO = 8, 3


def fno_vorticity(x, y, t, n):
    """(x, y) arrays; distinct along each axis, in time and across trajectories."""
    return x + 10 * y + 100 * t + 1000 * n


def fno_arrays(trajectories: int = 2):
    """``a`` (N, x, y) and ``u`` (N, x, y, T) as the FNO files hold them, on x_i = i/s."""
    grid_ = np.arange(S) / S
    X, Y = np.meshgrid(grid_, grid_, indexing="ij")
    a = np.stack([fno_vorticity(X, Y, 0.0, n) for n in range(trajectories)])
    u = np.stack([np.stack([fno_vorticity(X, Y, t, n) for t in range(1, T_FNO + 1)], -1) for n in range(trajectories)])
    return a, u


def write_mat5(path: Path, trajectories: int = 2, with_t: bool = False, **extra) -> Path:
    import scipy.io

    a, u = fno_arrays(trajectories)
    contents = {"a": a, "u": u, **extra}
    if with_t:
        contents["t"] = np.arange(1, T_FNO + 1, dtype=np.float64)[None] * 0.5
    scipy.io.savemat(path, contents)
    return path


def write_mat73(path: Path, trajectories: int = 2) -> Path:
    """MATLAB v7.3: HDF5 after a 512-byte header; column-major, so h5py sees every axis reversed."""
    import h5py

    a, u = fno_arrays(trajectories)
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in (("a", a), ("u", u)):
            d = f.create_dataset(name, data=np.ascontiguousarray(value.T))  # reversed axes
            d.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Fri Dec  4 00:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM" + b"\x00" * (512 - 128))
    return path
