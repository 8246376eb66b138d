"""The benchmark end to end on an imported Well-format dataset: a non-square 8 × 16 grid, tracer and
velocity instead of vorticity, frames every 0.5, and an out-of-distribution Reynolds-number split."""

from __future__ import annotations

import csv
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import yaml

pytest.importorskip("h5py")

from data_gen.community import import_dataset, parse_import_config  # noqa: E402
from pdesurrogate.cli import main  # noqa: E402
from tests.data_gen.community.formats import write_well  # noqa: E402

from .test_benchmark import FIT, TINY_FIT  # noqa: E402

REYNOLDS_SPLITS = """
variables: [tracer, u, v]
splits:
  train: {where: {Reynolds: [10000, 20000]}, trajectories: [0, 2]}
  val: {where: {Reynolds: [10000, 20000]}, trajectories: [2, 3]}
  test_id: {where: {Reynolds: [10000, 20000]}, trajectories: [3, 4]}
  test_ood: {where: {Reynolds: 40000}}
"""


def model_config(directory: Path, name: str) -> str:
    """A shipped small config with the imported dataset's variables instead of vorticity."""
    raw = yaml.safe_load((FIT / f"{name}.yaml").read_text())
    raw["data"]["variables"] = ["tracer", "u", "v"]
    path = directory / f"{name.replace('ns_', 'shear_')}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.slow  # three trainings: about a minute on 2 busy cores
def test_a_benchmark_on_an_imported_well_dataset_with_a_reynolds_split(tmp_path):
    times = np.arange(8) * 0.5
    files = [write_well(tmp_path / f"shear_flow_Re{re:g}.hdf5", reynolds=re, trajectories=4, nx=16, ny=8, times=times)
             for re in (1e4, 2e4, 4e4)]
    import_dataset("the-well", files, tmp_path / "data", parse_import_config(REYNOLDS_SPLITS))
    bench = {"data_root": str(tmp_path / "data"),
             # One model (three seeds) keeps it short: the U-Net on non-square grids is tested apart.
             "models": [model_config(tmp_path, "ns_fno_cond_small")],
             "seeds": 3, "budget": {"epochs": 1}, "horizon": 4, "splits": ["test_id", "test_ood"],
             "fit_overrides": TINY_FIT}
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(bench))
    out = tmp_path / "out"
    assert main(["benchmark", str(tmp_path / "bench.yaml"), "--out", str(out), "--no-progress"]) == 0

    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    ood = {float(r["viscosity"]) for r in rows if r["split"] == "test_ood"}
    assert ood == {1 / 4e4}  # ν = 1/Re: the held-out Reynolds number is the low-viscosity split
    assert {float(r["viscosity"]) for r in rows if r["split"] == "test_id"} == {1e-4, 5e-5}
    # Saved every 0.5, scored from frame 2 (the largest history): t = 1.0 … 2.5.
    assert sorted({float(r["time"]) for r in rows}) == [1.0, 1.5, 2.0, 2.5]
    assert {r["variable"] for r in rows} >= {"tracer", "u", "v"}
    assert {r["metric"] for r in rows} >= {"band_low", "band_mid", "band_high", "spectrum_low"}
    run = out / "runs" / "shear_fno_cond_small" / "seed-0" / "predictions" / "test_ood.nc"
    with netCDF4.Dataset(run) as nc:
        assert nc["tracer"].dimensions == ("sample", "time", "y", "x") and nc["tracer"].shape == (4, 4, 8, 16)
        np.testing.assert_allclose(nc["x"][:], np.arange(16) / 16)
        np.testing.assert_allclose(nc["y"][:], np.arange(8) * 2 / 8)
    report = (out / "report.md").read_text()
    assert "test_ood" in report and "shear_fno_cond_small" in report and "persistence" in report
    # k_N = π·min(16/1, 8/2) = 4π: the band edges π and 2π, in physical units.
    assert "- Grid: 8 (y) × 16 (x) on a periodic 2 × 1 box" in report
    assert "low (0, 3.142], mid (3.142, 6.283], high > 6.283 (k_N = π·min(N_x/L_x, N_y/L_y) = 12.57)" in report
    assert (out / "figures" / "spectra_test_ood.png").is_file()
