"""Importing the FNO Navier–Stokes files: .mat v5 (scipy), v7.3 (h5py), neuraloperator .pt (torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from data_gen.community import import_dataset, parse_import_config
from data_gen.dataset import verify

from .formats import S, T_FNO, fno_arrays, fno_vorticity, write_mat5, write_mat73
from .test_import_well import read_split

CONFIG = "viscosity: 1.0e-3\nsplits:\n  train: {trajectories: [0, 2]}\n"


def check_vorticity(root, times):
    train = read_split(root, "train")
    np.testing.assert_array_equal(train["_coords"]["time"], times)
    grid = np.arange(S) / S
    np.testing.assert_array_equal(train["_coords"]["x"], grid)
    X, Y = np.meshgrid(grid, grid, indexing="xy")  # (y, x)
    for n in range(2):
        for k in range(len(times)):
            # Frame 0 is `a`, frame k >= 1 is u[..., k-1]; both (x, y) in the file, (y, x) here.
            np.testing.assert_array_equal(train["vorticity"][n, k], fno_vorticity(X, Y, k, n).astype(np.float32))
    np.testing.assert_array_equal(train["viscosity"], [1e-3, 1e-3])
    assert verify(root).clean


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_mat_files_prepend_the_initial_frame_and_transpose(tmp_path, version):
    pytest.importorskip("scipy" if version == "5" else "h5py")
    path = (write_mat5 if version == "5" else write_mat73)(tmp_path / f"ns_V1e-3_N2_T{T_FNO}.mat")
    import_dataset("fno-mat", [path], tmp_path / "ds", parse_import_config(CONFIG))
    check_vorticity(tmp_path / "ds", np.arange(T_FNO + 1, dtype=np.float64))
    train = read_split(tmp_path / "ds", "train")
    assert train["vorticity"].shape == (2, T_FNO + 1, S, S)


def test_mat_times_from_the_file_and_the_saved_interval(tmp_path):
    pytest.importorskip("scipy")
    path = write_mat5(tmp_path / "ns.mat", with_t=True)  # t = 0.5, 1.0, 1.5
    import_dataset("fno-mat", [path], tmp_path / "ds", parse_import_config(CONFIG))
    np.testing.assert_array_equal(read_split(tmp_path / "ds", "train")["_coords"]["time"], [0, 0.5, 1.0, 1.5])
    path = write_mat5(tmp_path / "ns2.mat")
    import_dataset("fno-mat", [path], tmp_path / "ds2", parse_import_config(CONFIG + "saved_interval: 0.25\n"))
    np.testing.assert_array_equal(read_split(tmp_path / "ds2", "train")["_coords"]["time"], [0, 0.25, 0.5, 0.75])


def test_pt_dictionaries_of_tensors(tmp_path):
    a, u = fno_arrays()
    torch.save({"a": torch.from_numpy(a), "u": torch.from_numpy(u)}, tmp_path / "ns.pt")
    import_dataset("fno-pt", [tmp_path / "ns.pt"], tmp_path / "ds", parse_import_config(CONFIG))
    check_vorticity(tmp_path / "ds", np.arange(T_FNO + 1, dtype=np.float64))
    # neuraloperator's x (input) and y (output one saved_interval later), float32, with a channel axis.
    torch.save({"x": torch.from_numpy(a[:, None]).float(), "y": torch.from_numpy(u[:, None, ..., 0]).float()},
               tmp_path / "pair.pt")
    import_dataset("fno-pt", [tmp_path / "pair.pt"], tmp_path / "pair",
                   parse_import_config(CONFIG + "saved_interval: 2.0\n"))
    train = read_split(tmp_path / "pair", "train")
    np.testing.assert_array_equal(train["_coords"]["time"], [0.0, 2.0])
    grid = np.arange(S) / S
    X, Y = np.meshgrid(grid, grid, indexing="xy")
    np.testing.assert_array_equal(train["vorticity"][1, 1], fno_vorticity(X, Y, 1, 1).astype(np.float32))
