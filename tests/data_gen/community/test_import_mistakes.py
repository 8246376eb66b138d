"""Every bad source is refused in one line that names the file (and the group, field or key)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from data_gen.community import SourceError, import_dataset, parse_import_config

from .formats import fno_arrays, write_mat5, write_mat73, write_well

h5py = pytest.importorskip("h5py")
VISCOSITY = parse_import_config("viscosity: 1.0e-3\nsplits:\n  train: {}\n")


def refused(fmt, sources, out, config=None, *fragments):
    with pytest.raises(SourceError) as caught:
        import_dataset(fmt, sources, out, config)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert not out.exists()  # nothing half-written is left behind
    return message


def edit(path, change):
    with h5py.File(path, "r+") as f:
        change(f)
    return path


def test_not_hdf5_missing_group_or_field(tmp_path):
    (tmp_path / "notes.hdf5").write_text("not HDF5")
    refused("the-well", [tmp_path / "notes.hdf5"], tmp_path / "o", None, "notes.hdf5", "not an HDF5 file")
    path = edit(write_well(tmp_path / "a.hdf5"), lambda f: f.__delitem__("boundary_conditions"))
    refused("the-well", [path], tmp_path / "o", None, "a.hdf5", "group 'boundary_conditions' missing")
    path = write_well(tmp_path / "b.hdf5", drop="pressure")  # listed in field_names, absent
    refused("the-well", [path], tmp_path / "o", None, "b.hdf5", "'t0_fields/pressure' missing")


def test_shapes_that_disagree_within_and_between_files(tmp_path):
    def wrong_velocity(f):
        del f["t1_fields/velocity"]
        f["t1_fields"].create_dataset("velocity", data=np.zeros((3, 3, 8, 4, 3), np.float32))

    path = edit(write_well(tmp_path / "a.hdf5"), wrong_velocity)
    refused("the-well", [path], tmp_path / "o", None, "a.hdf5", "t1_fields/velocity", "(3, 3, 8, 4, 3)",
            "(3, 3, 8, 4, 2)")
    coarse, fine = write_well(tmp_path / "c.hdf5"), write_well(tmp_path / "f.hdf5", nx=16, reynolds=2e4)
    refused("the-well", [coarse, fine], tmp_path / "o", None, "f.hdf5", "grid (y, x) (4, 16)", "c.hdf5")


def test_declared_shape_far_larger_than_the_file_is_refused_before_reading(tmp_path):
    def huge(f):
        del f["t0_fields/pressure"]
        f.attrs["n_trajectories"] = 10**6
        for name in ("tracer", "pressure"):
            if name in f["t0_fields"]:
                del f["t0_fields"][name]
            f["t0_fields"].create_dataset(name, shape=(10**6, 3, 8, 4), dtype=np.float32, chunks=(1, 3, 8, 4))
        del f["t1_fields/velocity"]
        f["t1_fields"].create_dataset("velocity", shape=(10**6, 3, 8, 4, 2), dtype=np.float32,
                                      chunks=(1, 3, 8, 4, 2))

    path = edit(write_well(tmp_path / "big.hdf5"), huge)
    assert path.stat().st_size < 2**20  # ~366 MiB declared
    refused("the-well", [path], tmp_path / "o", None, "big.hdf5", "t0_fields/tracer", "declares shape",
            "cannot fit")


def test_non_periodic_boundaries_name_the_boundary_and_field(tmp_path):
    path = write_well(tmp_path / "walls.hdf5", boundary="wall")
    refused("the-well", [path], tmp_path / "o", None, "walls.hdf5", "boundary_conditions/x_wall", "'wall'",
            "tracer", "only periodic")


def test_parameter_missing_and_viscosity_not_derivable(tmp_path):
    path = write_well(tmp_path / "a.hdf5")
    config = parse_import_config("splits:\n  train: {where: {Mach: [1]}}\n")
    refused("the-well", [path], tmp_path / "o", config, "splits.train.where.Mach", "a.hdf5",
            "Reynolds, Schmidt")
    path = write_well(tmp_path / "b.hdf5", parameters=["Reynolds", "Mach"])
    refused("the-well", [path], tmp_path / "o", None, "b.hdf5", "'Mach'", "no root attribute")
    path = edit(write_well(tmp_path / "c.hdf5"), lambda f: f.attrs.__setitem__("dataset_name", "rayleigh_benard"))
    refused("the-well", [path], tmp_path / "o", None, "c.hdf5", "no viscosity can be derived", "`viscosity:`")
    # ... and given, it is used.
    result = import_dataset("the-well", [path], tmp_path / "ok", parse_import_config("viscosity: 0.01"))
    assert sum(result.sample_counts.values()) == 3


def test_truncated_corrupted_or_non_finite_files_are_named(tmp_path):
    source = write_well(tmp_path / "ok.hdf5")
    data = source.read_bytes()
    (tmp_path / "cut.hdf5").write_bytes(data[: len(data) // 2])
    refused("the-well", [tmp_path / "cut.hdf5"], tmp_path / "o", None, "cut.hdf5", "truncated")
    path = edit(write_well(tmp_path / "nan.hdf5"), lambda f: f["t0_fields/tracer"].__setitem__((1, 2, 0, 0), np.nan))
    refused("the-well", [path], tmp_path / "o", None, "nan.hdf5", "trajectory 1 of 'tracer'", "NaN")


def test_mat_files(tmp_path):
    pytest.importorskip("scipy")
    (tmp_path / "x.mat").write_bytes(b"\x00" * 300)
    refused("fno-mat", [tmp_path / "x.mat"], tmp_path / "o", VISCOSITY, "x.mat", "not a MATLAB .mat file")
    a, u = fno_arrays()
    import scipy.io

    scipy.io.savemat(tmp_path / "no_u.mat", {"a": a})
    refused("fno-mat", [tmp_path / "no_u.mat"], tmp_path / "o", VISCOSITY, "no_u.mat", "'u' missing")
    scipy.io.savemat(tmp_path / "shape.mat", {"a": a, "u": u[:, :4]})
    refused("fno-mat", [tmp_path / "shape.mat"], tmp_path / "o", VISCOSITY, "shape.mat", "(2, 4, 8)",
            "the shape of 'a'")
    path = write_mat5(tmp_path / "ns_V1e-4_N2_T3.mat")
    refused("fno-mat", [path], tmp_path / "o", None, "ns_V1e-4_N2_T3.mat", "`viscosity:`",
            "the file name suggests 0.0001")
    data = path.read_bytes()
    (tmp_path / "cut.mat").write_bytes(data[: len(data) - 200])
    refused("fno-mat", [tmp_path / "cut.mat"], tmp_path / "o", VISCOSITY, "cut.mat", "truncated or corrupted")
    path = write_mat73(tmp_path / "big73.mat")

    with h5py.File(path, "r+") as f:  # 10⁶ trajectories declared (~1.5 GiB), none stored
        del f["a"], f["u"]
        f.create_dataset("a", shape=(8, 8, 10**6), dtype=np.float64, chunks=(8, 8, 1))
        f.create_dataset("u", shape=(3, 8, 8, 10**6), dtype=np.float64, chunks=(3, 8, 8, 1))
    refused("fno-mat", [path], tmp_path / "o", VISCOSITY, "big73.mat", "'a' declares shape", "cannot fit")


def test_pt_files_are_never_unpickled(tmp_path):
    a, u = fno_arrays()
    with open(tmp_path / "pickled.pt", "wb") as f:
        pickle.dump({"a": a, "u": u}, f)  # a raw pickle: refused before loading
    refused("fno-pt", [tmp_path / "pickled.pt"], tmp_path / "o", VISCOSITY, "pickled.pt", "not a torch.save archive")

    torch.save({"a": torch.zeros(2, 8, 8), "u": np.zeros((2, 8, 8, 3))}, tmp_path / "object.pt")
    refused("fno-pt", [tmp_path / "object.pt"], tmp_path / "o", VISCOSITY, "object.pt", "refused")
    torch.save({"a": torch.zeros(2, 8, 8), "u": 3}, tmp_path / "int.pt")
    refused("fno-pt", [tmp_path / "int.pt"], tmp_path / "o", VISCOSITY, "int.pt", "dictionary of tensors", "u: int")
    torch.save({"w": torch.zeros(2, 8, 8)}, tmp_path / "keys.pt")
    refused("fno-pt", [tmp_path / "keys.pt"], tmp_path / "o", VISCOSITY, "keys.pt", "'a' and 'u'")


def test_config_mistakes_are_one_line(tmp_path):
    for text, fragment in (("splits: {val: {}}", "needs a 'train' split"),
                           ("resolution: 7", "resolution"),
                           ("splits: {train: {trajectories: [2, 1]}}", "splits.train.trajectories"),
                           ("viscocity: 1", "unknown key")):
        with pytest.raises(SourceError, match=fragment):
            parse_import_config(text)
    path = write_well(tmp_path / "a.hdf5")
    overlap = parse_import_config("splits:\n  train: {trajectories: [0, 2]}\n  val: {trajectories: [1, 3]}\n")
    refused("the-well", [path], tmp_path / "o", overlap, "trajectory 1 of a.hdf5", "'train' and 'val'")
    refused("the-well", [path], tmp_path / "o", parse_import_config("variables: [density]"), "density", "tracer")
    refused("the-well", [path], tmp_path / "o", parse_import_config("resolution: [8, 8]"), "finer than the source")
