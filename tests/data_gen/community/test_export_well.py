"""Export to The Well: the published layout, and export → import reproduces a dataset bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

h5py = pytest.importorskip("h5py")

from data_gen.community import export_well, import_dataset, parse_import_config  # noqa: E402
from data_gen.dataset import generate, verify  # noqa: E402

from ..conftest import tiny_config  # noqa: E402
from .formats import write_well  # noqa: E402
from .test_import_well import SPLITS, read_split  # noqa: E402


def assert_same_data(a, b):
    """Fields, coordinates, per-sample parameters and seeds of every split: identical bits."""
    manifest_a = json.loads((a / "manifest.json").read_text())
    manifest_b = json.loads((b / "manifest.json").read_text())
    assert sorted(manifest_a["splits"]) == sorted(manifest_b["splits"])
    for split in manifest_a["splits"]:
        first, second = read_split(a, split), read_split(b, split)
        assert first.keys() == second.keys()
        for key in first:
            if key == "_coords":
                for axis in ("time", "x", "y"):
                    np.testing.assert_array_equal(first[key][axis], second[key][axis])
            else:
                assert first[key].dtype == second[key].dtype, key
                np.testing.assert_array_equal(first[key], second[key], err_msg=f"{split}/{key}")
    stats_a = json.loads((a / "stats.json").read_text())["variables"]
    stats_b = json.loads((b / "stats.json").read_text())["variables"]
    for name in stats_a:  # summed in another order: equal to round-off
        assert stats_b[name]["mean"] == pytest.approx(stats_a[name]["mean"], rel=1e-12, abs=1e-12)
        assert stats_b[name]["std"] == pytest.approx(stats_a[name]["std"], rel=1e-12)


def test_a_generated_dataset_round_trips_and_follows_the_well_layout(tmp_path, one_thread):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(saved_resolution=8)))
    generate(config, tmp_path / "gen", progress=False)
    assert (tmp_path / "gen" / "DATASET.md").is_file()
    result = export_well(tmp_path / "gen", tmp_path / "well")
    train_files = sorted((tmp_path / "well" / "data" / "train").glob("*.hdf5"))
    # Two viscosities, two samples each, in shards of 3: one file per run of equal parameters in a shard.
    assert len(train_files) == 3 and len(result.files) == 3 + 3
    with h5py.File(train_files[0]) as f:
        assert f.attrs["n_trajectories"] == 2 and f.attrs["n_spatial_dims"] == 2
        assert list(f.attrs["simulation_parameters"]) == ["viscosity", "drag", "forcing_amplitude"]
        assert f.attrs["viscosity"] == 2e-2
        assert [f["boundary_conditions"][g].attrs["bc_type"] for g in f["boundary_conditions"]] == ["periodic"] * 2
        u = f["t0_fields"]["u"]
        assert u.shape == (2, 3, 8, 8) and u.dtype == np.float32
        # (x, y) in The Well: the shard's u[sample, t, y, x] is the file's u[sample, t, x, y].
        shard = read_split(tmp_path / "gen", "train")
        np.testing.assert_array_equal(u[1], np.swapaxes(shard["u"][1], -1, -2))
        np.testing.assert_array_equal(f["dimensions"]["x"][()], shard["_coords"]["x"])
    files = sorted(str(p) for p in (tmp_path / "well" / "data").glob("*/*.hdf5"))
    import_dataset("the-well", files, tmp_path / "back")
    assert verify(tmp_path / "back").clean
    assert_same_data(tmp_path / "gen", tmp_path / "back")
    back = json.loads((tmp_path / "back" / "manifest.json").read_text())
    assert back["import"]["viscosity"] == "the files' parameter 'viscosity'"
    assert "pdesurrogate" in back["import"]["licence"]  # its own licence line, not The Well's


def test_an_imported_dataset_round_trips(tmp_path):
    files = [write_well(tmp_path / f"shear_{re:g}.hdf5", reynolds=re) for re in (1e4, 5e4, 1e5)]
    import_dataset("the-well", files, tmp_path / "first", parse_import_config(SPLITS))
    export_well(tmp_path / "first", tmp_path / "well")
    exported = sorted(str(p) for p in (tmp_path / "well" / "data").glob("*/*.hdf5"))
    with h5py.File(exported[0]) as f:
        assert list(f["t1_fields"].attrs["field_names"]) == ["velocity"]
        assert f["t1_fields"]["velocity"].shape[-1] == 2
    import_dataset("the-well", exported, tmp_path / "second")
    assert verify(tmp_path / "second").clean
    assert_same_data(tmp_path / "first", tmp_path / "second")
    first = json.loads((tmp_path / "first" / "manifest.json").read_text())
    second = json.loads((tmp_path / "second" / "manifest.json").read_text())
    assert second["import"]["licence"] == first["import"]["licence"]
    assert second["variables"] == first["variables"] == ["tracer", "pressure", "u", "v"]


def test_the_wells_own_reader_reads_the_export_and_the_test_files(tmp_path):
    """With the_well installed (optional), its WellDataset reads both what we export and our test
    files, with the same values: (x, y) order, fields in t0 then t1 order."""
    well = pytest.importorskip("the_well.data")
    (tmp_path / "source").mkdir()
    files = [write_well(tmp_path / "source" / f"shear_{re:g}.hdf5", reynolds=re) for re in (1e4, 1e5)]
    import_dataset("the-well", files, tmp_path / "ds", parse_import_config(
        "splits:\n  train: {where: {Reynolds: 10000}}\n  test_ood: {where: {Reynolds: 100000}}\n"))
    export_well(tmp_path / "ds", tmp_path / "well")
    shard = read_split(tmp_path / "ds", "train")
    for directory in (tmp_path / "well" / "data" / "train", tmp_path / "source"):
        dataset = well.WellDataset(path=str(directory), n_steps_input=1, n_steps_output=1, use_normalization=False)
        assert dataset.metadata.field_names[0] == ["tracer", "pressure"]
        assert dataset.metadata.spatial_resolution == (8, 4)
        item = dataset[0]  # trajectory 0 of the first file, frames 0 → 1
        fields = item["input_fields"][0].numpy()  # (x, y, channel)
        np.testing.assert_array_equal(fields[..., 0], shard["tracer"][0, 0].T)
        np.testing.assert_array_equal(fields[..., 2], shard["u"][0, 0].T)
        np.testing.assert_array_equal(item["output_fields"][0].numpy()[..., 3], shard["v"][0, 1].T)
