"""Importing The Well: axis order, orientation, times, parameters and splits, checked exactly."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("h5py")
import netCDF4  # noqa: E402

from data_gen.community import import_dataset, parse_import_config  # noqa: E402
from data_gen.dataset import verify  # noqa: E402

from .formats import LX, LY, TIMES, pressure, tracer, velocity, write_well  # noqa: E402

SPLITS = """
splits:
  train: {where: {Reynolds: [10000, 50000]}, trajectories: [0, 2]}
  val: {where: {Reynolds: [10000, 50000]}, trajectories: [2, 3]}
  test_ood: {where: {Reynolds: 100000}}
"""


def read_split(root, split):
    """Every (sample,) and (sample, time, y, x) variable of a split, concatenated over its shards."""
    out = {}
    for path in sorted((root / split).glob("shard-*.nc")):
        with netCDF4.Dataset(path) as nc:
            nc.set_auto_mask(False)
            for name, var in nc.variables.items():
                if var.dimensions[:1] == ("sample",):
                    out.setdefault(name, []).append(np.asarray(var[:]))
            out["_coords"] = {k: np.asarray(nc[k][:]) for k in ("time", "x", "y")}
    return {k: (np.concatenate(v) if k != "_coords" else v) for k, v in out.items()}


@pytest.fixture
def shear_files(tmp_path):
    return [write_well(tmp_path / f"shear_flow_Re{re:g}.hdf5", reynolds=re) for re in (1e4, 5e4, 1e5)]


def test_fields_are_transposed_to_y_x_with_times_parameters_and_reynolds_splits(tmp_path, shear_files):
    result = import_dataset("the-well", shear_files, tmp_path / "ds", parse_import_config(SPLITS))
    assert result.sample_counts == {"train": 4, "val": 2, "test_ood": 3}
    report = verify(tmp_path / "ds")
    assert report.clean, report.problems

    train = read_split(tmp_path / "ds", "train")
    coords = train["_coords"]
    np.testing.assert_array_equal(coords["time"], TIMES)
    np.testing.assert_array_equal(coords["x"], np.arange(8) * LX / 8)
    np.testing.assert_array_equal(coords["y"], np.arange(4) * LY / 4)
    # Train: trajectories 0, 1 of Re 1e4, then 0, 1 of Re 5e4, in file order.
    np.testing.assert_array_equal(train["Reynolds"], [1e4, 1e4, 5e4, 5e4])
    np.testing.assert_array_equal(train["viscosity"], [1e-4, 1e-4, 2e-5, 2e-5])  # ν = 1/Re
    np.testing.assert_array_equal(train["seed"], [0, 1, 1 << 32, (1 << 32) + 1])
    X, Y = np.meshgrid(coords["x"], coords["y"], indexing="xy")  # (y, x) arrays
    for sample, (trajectory, reynolds) in enumerate([(0, 1e4), (1, 1e4), (0, 5e4), (1, 5e4)]):
        for k, t in enumerate(TIMES):
            for name, law in (("tracer", tracer), ("pressure", pressure)):
                np.testing.assert_array_equal(train[name][sample, k], law(X, Y, t, trajectory, reynolds))
            np.testing.assert_array_equal(train["u"][sample, k], velocity(X, Y, t, trajectory, reynolds)[..., 0])
            np.testing.assert_array_equal(train["v"][sample, k], velocity(X, Y, t, trajectory, reynolds)[..., 1])
    ood = read_split(tmp_path / "ds", "test_ood")
    np.testing.assert_array_equal(ood["viscosity"], [1e-5] * 3)

    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    sources = manifest["import"]["sources"]
    assert [s["file"] for s in sources] == [p.name for p in shear_files]
    assert sources[0]["sha256"] == hashlib.sha256(shear_files[0].read_bytes()).hexdigest()
    assert sources[0]["bytes"] == shear_files[0].stat().st_size
    assert "CC-BY-4.0" in manifest["import"]["licence"] and "Ohana" in manifest["import"]["citation"]
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["variables"]["pressure"]["mean"] == pytest.approx(train["pressure"].astype(np.float64).mean(), rel=1e-12)
    assert stats["variables"]["tracer"]["std"] == pytest.approx(train["tracer"].astype(np.float64).std(), rel=1e-12)
    card = (tmp_path / "ds" / "DATASET.md").read_text()
    for fact in ("CC-BY-4.0", sources[0]["sha256"], "nu = 1/Reynolds", "| test_ood | 3 | 1 | 1e-05 |",
                 "| `pressure` | pressure | 1 |", "xr.open_mfdataset", "4 (y) × 8 (x)"):
        assert fact in card


def test_default_splits_cap_and_coarsening_by_spectral_truncation(tmp_path):
    source = write_well(tmp_path / "fine.hdf5", trajectories=5, nx=16, ny=8)
    config = parse_import_config("variables: [tracer, v]\ntrajectories_per_file: 4\nresolution: [4, 8]\n")
    result = import_dataset("the-well", [source], tmp_path / "ds", config)
    # 4 kept trajectories, 10 % (at least one) each to val and test_id.
    assert result.sample_counts == {"train": 2, "val": 1, "test_id": 1}
    assert verify(tmp_path / "ds").clean
    train = read_split(tmp_path / "ds", "train")
    x, y = train["_coords"]["x"], train["_coords"]["y"]
    np.testing.assert_allclose(x, np.arange(8) * LX / 8, rtol=0, atol=1e-15)
    np.testing.assert_allclose(y, np.arange(4) * LY / 4, rtol=0, atol=1e-15)
    assert set(train) >= {"tracer", "v"} and "pressure" not in train and "u" not in train
    X, Y = np.meshgrid(x, y, indexing="xy")
    # The analytic fields hold |k| <= 1 modes only, so truncation reproduces them at the coarse points.
    for trajectory in range(2):
        for k, t in enumerate(TIMES):
            np.testing.assert_allclose(train["tracer"][trajectory, k], tracer(X, Y, t, trajectory, 1e4), atol=2e-6)
            np.testing.assert_allclose(train["v"][trajectory, k], velocity(X, Y, t, trajectory, 1e4)[..., 1],
                                       atol=2e-6)


def test_verify_checks_an_imported_dataset_against_its_manifest(tmp_path, shear_files):
    import_dataset("the-well", shear_files, tmp_path / "ds", parse_import_config(SPLITS))
    shard = tmp_path / "ds" / "val" / "shard-00000.nc"
    data = bytearray(shard.read_bytes())
    data[-100] ^= 0xFF
    shard.write_bytes(bytes(data))
    (tmp_path / "ds" / "train" / "notes.txt").write_text("x")
    problems = verify(tmp_path / "ds").problems
    assert "val/shard-00000.nc: sha256 does not match manifest.json (the file was altered)" in problems
    assert "train/notes.txt: unexpected file" in problems
