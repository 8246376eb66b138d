"""The dataset's own solver on a coarse grid (data_gen.coarse_solver) and the error it records per split."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
import xarray as xr

from data_gen.coarse_solver import CoarseSolver
from data_gen.dataset import UnderResolvedWarning, generate, parse_config
from data_gen.errors import ParameterError
import yaml

from .conftest import tiny_config


def _make(tmp_path, **overrides):
    raw = tiny_config(**overrides)
    text = yaml.safe_dump(raw)
    root = tmp_path / "data"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnderResolvedWarning)  # 16² is coarse on purpose: it is fast
        generate(parse_config(text), root, progress=False)
    return parse_config(text), root


def _split(root, split="train"):
    parts = []
    for path in sorted((root / split).glob("shard-*.nc")):
        with xr.open_dataset(path) as ds:
            parts.append(ds.load())
    return xr.concat(parts, dim="sample")


def _rel_l2(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.sqrt(((prediction - truth) ** 2).sum((-2, -1))) / np.sqrt((truth ** 2).sum((-2, -1)))


@pytest.mark.usefixtures("one_thread")
def test_at_the_simulation_grid_the_coarse_solver_reproduces_the_saved_frames(tmp_path):
    # Saved on the simulated grid (16²): a saved frame is the solver's state, so restarting the
    # solver from frame 0 with the same step rule must give frames 1, 2, … again, to float32 round-off.
    config, root = _make(tmp_path, saved_resolution=16, variables=["vorticity"],
                         time={"t_end": 2.0, "save_interval": 0.5})
    ds = _split(root)
    solver = CoarseSolver(config)
    assert solver.resolution == 16 == config.sim_resolution
    truth = ds["vorticity"].values  # (sample, time, y, x)
    parameters = solver.parameters({"viscosity": ds["viscosity"].values})
    frames = solver.rollout(torch.from_numpy(truth[:, 0:1]), parameters, truth.shape[1] - 1)
    error = _rel_l2(frames[:, :, 0].double().numpy(), truth[:, 1:])
    assert error.max() < 1e-5, error


@pytest.mark.usefixtures("one_thread")
def test_the_saved_grid_run_is_worse_than_the_simulated_grid_and_both_beat_persistence(tmp_path):
    config, root = _make(tmp_path, variables=["vorticity"], time={"t_end": 2.0, "save_interval": 0.5})
    ds = _split(root, "test_ood")
    truth = ds["vorticity"].values
    errors = {}
    for grid in (8, 16):  # saved, simulated (the saved frame zero-padded onto it)
        solver = CoarseSolver(config, grid)
        frames = solver.rollout(torch.from_numpy(truth[:, 0:1]), solver.parameters({"viscosity": ds["viscosity"].values}),
                                truth.shape[1] - 1)
        errors[grid] = _rel_l2(frames[:, :, 0].double().numpy(), truth[:, 1:]).mean()
    persistence = _rel_l2(np.repeat(truth[:, :1], truth.shape[1] - 1, 1), truth[:, 1:]).mean()
    assert errors[16] < errors[8] < persistence


def test_grids_outside_saved_to_simulated_and_missing_state_variables_are_refused():
    config = parse_config(yaml.safe_dump(tiny_config()))
    with pytest.raises(ParameterError, match="resolution must be an even integer from the saved resolution 8 to"):
        CoarseSolver(config, 32)
    config = parse_config(yaml.safe_dump(tiny_config(variables=["u"])))
    with pytest.raises(ParameterError, match=r"variables: the dataset does not save \['vorticity'\]"):
        CoarseSolver(config)


@pytest.mark.usefixtures("one_thread")
def test_the_manifest_records_the_coarse_solver_error_per_split(tmp_path):
    config, root = _make(tmp_path, variables=["vorticity", "u"])
    manifest = json.loads((root / "manifest.json").read_text())
    stats = json.loads((root / "stats.json").read_text())["variables"]
    for split in ("train", "test_ood"):
        record = manifest["splits"][split]["coarse_solver"]
        assert record["available"] and record["grid"] == 8 and record["start_frame"] == 0
        assert record["horizon"] == 2 and record["diverged"] == 0  # t_end 1, every 0.5: 2 frames after t = 0
        # recomputed here: the solver on 8² from frame 0, rel. L2 of deviations from the train mean
        ds = _split(root, split)
        solver = CoarseSolver(config)
        frames = solver.rollout(torch.from_numpy(ds["vorticity"].values[:, 0:1]),
                                solver.parameters({"viscosity": ds["viscosity"].values}), 2).double().numpy()
        for c, name in enumerate(("vorticity", "u")):
            mean = stats[name]["mean"]
            truth = ds[name].values[:, 1:3]
            expected = (np.sqrt(((frames[:, :, c] - truth) ** 2).sum((-2, -1)))
                        / np.sqrt(((truth - mean) ** 2).sum((-2, -1))))
            assert record["rel_l2"][name]["mean"] == pytest.approx(expected.mean(), rel=1e-6)
            assert record["rel_l2"][name]["per_frame"] == pytest.approx(list(expected.mean(0)), rel=1e-6)
