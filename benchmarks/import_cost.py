"""Cost of `pdesurrogate import the-well` per GB of source, on a synthetic file written here.

Writes one The Well-format HDF5 file of about ``--megabytes`` MB (at least one trajectory) (tracer, pressure and a velocity
vector, float32, (trajectory, time, x, y)) into a temporary directory, then times, in the same
run: hashing the source (the manifest's sha256), a plain copy of it (the disk's floor), and the
import itself, without and with coarsening to half the grid by spectral truncation. Prints one
JSON object with seconds per GB and the ratios to the copy. The machine's load is reported too:
the numbers are only comparable within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_source(path: Path, megabytes: float, ny: int = 512, nx: int = 256, frames: int = 20) -> int:
    import h5py

    per_trajectory = 4 * frames * nx * ny * 4  # tracer, pressure, 2 velocity components
    trajectories = max(1, round(megabytes * 1e6 / per_trajectory))
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.attrs.update({"dataset_name": "shear_flow", "grid_type": "cartesian", "n_spatial_dims": 2,
                        "n_trajectories": trajectories, "simulation_parameters": ["Reynolds", "Schmidt"],
                        "Reynolds": 1e4, "Schmidt": 1.0})
        dims = f.create_group("dimensions")
        dims.attrs["spatial_dims"] = ["x", "y"]
        dims["time"] = np.arange(frames, dtype=np.float32) * 0.25
        dims["x"] = (np.arange(nx) / nx).astype(np.float32)
        dims["y"] = (np.arange(ny) * 2.0 / ny).astype(np.float32)
        for axis in ("x", "y"):
            bc = f.create_group(f"boundary_conditions/{axis}_periodic")
            bc.attrs.update({"associated_dims": [axis], "associated_fields": [], "bc_type": "PERIODIC"})
        t0 = f.create_group("t0_fields")
        t0.attrs["field_names"] = ["tracer", "pressure"]
        t1 = f.create_group("t1_fields")
        t1.attrs["field_names"] = ["velocity"]
        fields = {name: t0.create_dataset(name, (trajectories, frames, nx, ny), np.float32) for name in ("tracer", "pressure")}
        velocity = t1.create_dataset("velocity", (trajectories, frames, nx, ny, 2), np.float32)
        for b in range(trajectories):
            for d in fields.values():
                d[b] = rng.standard_normal((frames, nx, ny), dtype=np.float32)
            velocity[b] = rng.standard_normal((frames, nx, ny, 2), dtype=np.float32)
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=300.0, help="size of the synthetic source (default 300)")
    parser.add_argument("--repeats", type=int, default=2, help="repeats of each timing; the minimum is reported")
    parser.add_argument("--grid", type=int, nargs=2, default=[512, 256], metavar=("NY", "NX"),
                        help="source grid (default 512 256, shear_flow's)")
    args = parser.parse_args()
    from data_gen.community import import_dataset, parse_import_config
    from data_gen.dataset.writer import sha256_of

    with tempfile.TemporaryDirectory(prefix="import-cost-") as scratch:
        scratch = Path(scratch)
        source = scratch / "shear_flow_Reynolds_1e4.hdf5"
        ny, nx = args.grid
        size = write_source(source, args.megabytes, ny, nx)

        def timed(work) -> float:
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                work()
                best = min(best, time.perf_counter() - start)
            return best

        def imported(config: str):
            def run():
                out = scratch / "out"
                shutil.rmtree(out, ignore_errors=True)
                import_dataset("the-well", [source], out, parse_import_config(config))
            return run

        copy = timed(lambda: shutil.copyfile(source, scratch / "copy.hdf5"))
        digest = timed(lambda: sha256_of(source))
        splits = "splits:\n  train: {}\n"
        full = timed(imported(splits))
        coarse = timed(imported(splits + f"resolution: [{ny // 2}, {nx // 2}]\n"))
        gb = size / 1e9
        print(json.dumps({
            "source_bytes": size, "grid_source": [ny, nx], "load_average_1min": os.getloadavg()[0],
            "cpu_count": os.cpu_count(), "repeats": args.repeats,
            "seconds_per_gb": {"copy": copy / gb, "sha256": digest / gb, "import": full / gb,
                               "import_coarsened_to_half_grid": coarse / gb},
            "ratio_to_copy": {"sha256": digest / copy, "import": full / copy, "import_coarsened": coarse / copy},
        }, indent=2))


if __name__ == "__main__":
    main()
