"""End-to-end generation on tiny grids: the files, their contents, determinism and statistics."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pytest
import torch
import xarray as xr
import yaml

from data_gen.dataset import UNDER_RESOLVED_THRESHOLD, UnderResolvedWarning, generate, parse_config
from data_gen.dataset.builders import BUILDERS
from data_gen.dataset.generate import resolve_device, resolve_worker
from data_gen.errors import ParameterError
from data_gen.dataset.resolution import highest_shell_enstrophy_fraction
from data_gen.grid import PeriodicGrid
from data_gen.spectral import spectral_truncate

from .conftest import tiny_config as tiny
from .conftest import torch_threads

# Tiny grids resolve nothing turbulent; the resolution check has its own test below.
pytestmark = [pytest.mark.filterwarnings("ignore::data_gen.dataset.UnderResolvedWarning"),
              pytest.mark.usefixtures("one_thread")]


def make(raw: dict):
    return parse_config(yaml.safe_dump(raw, sort_keys=False))


def shard_arrays(root) -> dict[str, dict[str, np.ndarray]]:
    arrays = {}
    for path in sorted(root.glob("*/shard-*.nc")):
        with xr.open_dataset(path, decode_times=False) as ds:
            arrays[f"{path.parent.name}/{path.name}"] = {name: ds[name].values for name in ds.variables}
    return arrays


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "data"
    with torch_threads(1):  # module scope: set up before the one_thread fixture applies
        result = generate(make(tiny()), root, progress=False)
    return root, result


def test_files_open_with_plain_xarray_and_follow_the_contract(dataset):
    root, result = dataset
    assert result.manifest is not None and result.written_samples == 7
    assert sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.nc")) == [
        "test_ood/shard-00000.nc", "train/shard-00000.nc", "train/shard-00001.nc"]
    with xr.open_dataset(root / "train" / "shard-00000.nc", decode_times=False) as ds:
        assert dict(ds.sizes) == {"sample": 3, "time": 3, "y": 8, "x": 8}
        assert ds["vorticity"].dims == ("sample", "time", "y", "x") and ds["vorticity"].dtype == np.float32
        assert ds["u"].dtype == np.float32
        # x_i = i·L/N at the saved resolution, x[0] = 0; t = 0 is the first frame.
        np.testing.assert_allclose(ds["x"].values, np.arange(8) / 8)
        np.testing.assert_allclose(ds["y"].values, np.arange(8) / 8)
        np.testing.assert_allclose(ds["time"].values, [0.0, 0.5, 1.0])
        for name in ("x", "y", "time", "vorticity", "u", "viscosity"):
            assert {"units", "long_name"} <= set(ds[name].attrs), name
        # CF demands a time axis in "<unit> since <epoch>": the nondimensional model time is written as
        # seconds since the epoch, its numbers unchanged, and the comment says so.
        assert ds["time"].attrs["units"] == "seconds since 1970-01-01 00:00:00"
        assert ds["time"].attrs["standard_name"] == "time" and "nondimensional" in ds["time"].attrs["comment"]
    with xr.open_dataset(root / "train" / "shard-00000.nc") as ds:  # decoded, the same times as offsets
        np.testing.assert_array_equal((ds["time"].values - np.datetime64("1970-01-01")) / np.timedelta64(1, "s"),
                                      [0.0, 0.5, 1.0])
    with xr.open_dataset(root / "train" / "shard-00000.nc", decode_times=False) as ds:
        # Listed viscosities come in blocks of samples_per_viscosity.
        np.testing.assert_array_equal(ds["viscosity"].values, [2.0e-2, 2.0e-2, 1.0e-2])
        assert ds["seed"].dims == ("sample",) and ds["seed"].dtype == np.int64
        np.testing.assert_array_equal(ds["drag"].values, 0.0)
        np.testing.assert_array_equal(ds["forcing_amplitude"].values, 0.1)
        for attribute in ("Conventions", "title", "equation", "solver", "scheme", "domain_length", "sim_resolution",
                          "saved_resolution", "forcing", "initial_condition", "split", "source", "history"):
            assert attribute in ds.attrs, attribute
        assert ds.attrs["Conventions"] == "CF-1.10" and ds.attrs["split"] == "train"
        assert (ds.attrs["sim_resolution"], ds.attrs["saved_resolution"]) == (16, 8)
    with xr.open_dataset(root / "test_ood" / "shard-00000.nc", decode_times=False) as ds:
        nu = ds["viscosity"].values
        assert np.all((nu >= 3.0e-3) & (nu <= 6.0e-3)) and len(set(nu)) == 3

    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["config"] == make(tiny()).text  # verbatim
    assert manifest["sample_counts"] == {"train": 4, "test_ood": 3}
    assert manifest["package"]["version"] and "commit" in manifest["git"] and manifest["created"]
    shards = manifest["splits"]["train"]["shards"]
    assert [s["file"] for s in shards] == ["train/shard-00000.nc", "train/shard-00001.nc"]
    assert all(len(s["sha256"]) == 64 for s in shards)
    check = manifest["splits"]["train"]["resolution_check"]
    assert check["threshold"] == UNDER_RESOLVED_THRESHOLD and 0 <= check["mean"] <= check["max"] <= 1
    assert check["highest_retained_wavenumber"] == 5  # the 2/3-rule cutoff of 16 points


def test_stats_come_from_the_train_split_only(dataset):
    root, _ = dataset
    stats = json.loads((root / "stats.json").read_text())
    train = [xr.open_dataset(p, decode_times=False) for p in sorted((root / "train").glob("*.nc"))]
    ood = [xr.open_dataset(p, decode_times=False) for p in sorted((root / "test_ood").glob("*.nc"))]
    for name in ("vorticity", "u"):
        values = np.concatenate([ds[name].values.astype(np.float64).ravel() for ds in train])
        everything = np.concatenate([values] + [ds[name].values.astype(np.float64).ravel() for ds in ood])
        assert stats["variables"][name]["mean"] == pytest.approx(values.mean(), rel=1e-9, abs=1e-12)
        assert stats["variables"][name]["std"] == pytest.approx(values.std(), rel=1e-9)
        assert stats["variables"][name]["std"] != pytest.approx(everything.std(), rel=1e-3)
    assert stats["parameters"]["viscosity"]["min"] == 1.0e-2  # not test_ood's 3e-3…6e-3
    for ds in train + ood:
        ds.close()


def test_identical_arrays_for_one_or_two_shards_and_any_batch_size(dataset, tmp_path):
    root, _ = dataset
    reference = shard_arrays(root)
    config = make(tiny(batch_size=1))  # batch size does not change the data, so it may resume too
    first = generate(config, tmp_path / "sharded", shard="1/2", progress=False)
    assert first.manifest is None and first.missing_shards == 2
    second = generate(config, tmp_path / "sharded", shard="0/2", progress=False)
    assert second.manifest is not None and second.written_shards == 2
    assert generate(make(tiny(batch_size=3)), tmp_path / "batched", progress=False).manifest is not None
    for other in (shard_arrays(tmp_path / "sharded"), shard_arrays(tmp_path / "batched")):
        assert other.keys() == reference.keys()
        for shard, variables in reference.items():
            for name, values in variables.items():
                np.testing.assert_array_equal(other[shard][name], values, err_msg=f"{shard}:{name}")


def test_worker_comes_from_shard_flag_torchrun_or_slurm():
    def share(flag, environ):
        worker = resolve_worker(flag, environ)
        return worker.index, worker.count

    assert share(None, {}) == (0, 1)
    assert share(None, {"RANK": "3", "WORLD_SIZE": "8"}) == (3, 8)
    # Array ids 1, 4, 7, 10 (--array=1-10:3): task 7 is the third.
    assert share(None, {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "3",
                        "SLURM_ARRAY_TASK_COUNT": "4"}) == (2, 4)
    assert share("1/2", {"RANK": "3", "WORLD_SIZE": "8"}) == (1, 2)  # the flag wins


@pytest.mark.parametrize("environ, message", [
    ({"RANK": "8", "WORLD_SIZE": "8"}, "environment variable RANK must be in [0, WORLD_SIZE = 8) (got 8)"),
    ({"RANK": "-1", "WORLD_SIZE": "8"}, "environment variable RANK must be in [0, WORLD_SIZE = 8) (got -1)"),
    ({"RANK": "0", "WORLD_SIZE": "0"}, "environment variable WORLD_SIZE must be >= 1 (got 0)"),
    ({"SLURM_ARRAY_TASK_ID": "13", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "3",
      "SLURM_ARRAY_TASK_COUNT": "4"}, "environment variable SLURM_ARRAY_TASK_ID must be one of 1, 4, ..., 10"),
    ({"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "3",
      "SLURM_ARRAY_TASK_COUNT": "4"}, "environment variable SLURM_ARRAY_TASK_ID must be one of 1, 4, ..., 10"),
])
def test_a_worker_outside_the_world_is_refused_naming_the_variable(environ, message):
    # Otherwise its shards would silently go to nobody, or another worker's be generated twice.
    with pytest.raises(ParameterError) as caught:
        resolve_worker(None, environ)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_malformed_cuda_device_is_one_line_not_a_traceback(monkeypatch):
    # Pretend there are two GPUs, so the form of the name is what is checked.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for name, message in (("cuda:abc", "--device must be cpu, cuda or cuda:N"), ("gpu", "--device must be cpu"),
                          ("cuda:2", "--device: cuda:2 requested but torch sees 2 CUDA device(s)")):
        with pytest.raises(ParameterError, match=re.escape(message)):
            resolve_device(name, {})
    assert resolve_device("cuda:1", {}) == torch.device("cuda", 1)
    assert resolve_device("cuda", {"LOCAL_RANK": "3"}) == torch.device("cuda", 1)


def test_saved_taylor_green_matches_the_exact_decay_at_the_saved_points(tmp_path):
    """Spin-up, rollout, spectral truncation and the coordinates all agree with the exact solution."""
    raw = tiny(
        sim_resolution=16, saved_resolution=8, forcing={"kind": "none"},
        initial_condition={"kind": "taylor_green", "wavenumber": 2, "amplitude": 1.0},
        # A small max_dt: the adaptive step grows as the flow decays, and the comparison is
        # about the pipeline, not Crank–Nicolson's O(dt²) damping error.
        time={"t_end": 0.5, "save_interval": 0.25, "spinup": 0.25, "max_dt": 5.0e-3}, variables=["vorticity"],
        splits={"train": {"viscosity": [1.0e-2], "samples_per_viscosity": 1, "seed": 0}},
    )
    generate(make(raw), tmp_path / "tg", progress=False)
    with xr.open_dataset(tmp_path / "tg" / "train" / "shard-00000.nc", decode_times=False) as ds:
        kappa = 2 * math.pi * 2
        y, x = np.meshgrid(ds["y"].values, ds["x"].values, indexing="ij")
        decay = np.exp(-2 * 1.0e-2 * kappa**2 * (ds["time"].values + 0.25))  # t = 0 is after the spin-up
        exact = 2 * kappa * np.sin(kappa * x) * np.sin(kappa * y) * decay[:, None, None]
        np.testing.assert_allclose(ds["vorticity"].values[0], exact, atol=1e-5 * np.abs(exact).max())


def test_spectral_truncation_of_a_band_limited_field_is_exact():
    fine, coarse = PeriodicGrid(32), PeriodicGrid(12)

    def field(grid):
        x, y = grid.mesh()
        two_pi = 2 * math.pi
        return (torch.cos(two_pi * 5 * x) * torch.sin(two_pi * 3 * y) + 0.3 * torch.sin(two_pi * (2 * x - 5 * y))
                + 0.1 * torch.cos(two_pi * (x + 4 * y)) + 0.7)

    np.testing.assert_allclose(spectral_truncate(field(fine), 12).numpy(), field(coarse).numpy(), atol=1e-13)
    # Striding would alias: the |k| = 5 mode is not representable on 8 points.
    assert not torch.allclose(spectral_truncate(field(fine), 8), field(fine)[::4, ::4], atol=1e-3)


def test_resolution_check_watches_the_highest_shell_each_solver_retains():
    # The spectral solver dealiases above (n−1)//3 = 5; the finite-difference ones keep every mode
    # to the Nyquist wavenumber 8, and 7 is the largest shell whole inside the 16² grid.
    cutoffs = {key: builder.highest_retained_wavenumber(16) for key, builder in BUILDERS.items()}
    assert cutoffs == {("navier_stokes", "spectral"): 5, ("navier_stokes", "finite_difference"): 7,
                       ("shallow_water", "finite_difference"): 7}
    grid = PeriodicGrid(16)
    x, y = grid.mesh()
    # A mode at |k| = 7 is grid-scale noise to a finite-difference solver, but beyond the
    # spectral cutoff it is not a mode the spectral solver could hold at all.
    beyond_dealiasing = torch.cos(2 * math.pi * (7 * x))[None]
    at_dealiasing = torch.cos(2 * math.pi * (3 * x + 4 * y))[None]  # |k| = 5
    fraction = highest_shell_enstrophy_fraction
    assert float(fraction(beyond_dealiasing, grid, 7)) == pytest.approx(1.0)
    assert float(fraction(beyond_dealiasing, grid, 5)) < 1e-28  # round-off of the transform
    assert float(fraction(at_dealiasing, grid, 5)) == pytest.approx(1.0)
    assert float(fraction(at_dealiasing, grid, 7)) < 1e-28


def test_under_resolved_split_is_named_in_a_warning(tmp_path):
    rough = tiny(
        initial_condition={"kind": "gaussian_random_field", "alpha": 1.5, "tau": 3.0},
        splits={"train": {"viscosity": [1.0e-2], "samples_per_viscosity": 1, "seed": 0}},
    )
    # A single Taylor–Green mode far below the cutoff: nothing in the highest shell.
    smooth = dict(rough, initial_condition={"kind": "taylor_green", "wavenumber": 1}, forcing={"kind": "none"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = generate(make(rough), tmp_path / "rough", progress=False)
        generate(make(smooth), tmp_path / "smooth", progress=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, UnderResolvedWarning)]
    assert len(messages) == 1 and "split 'train'" in messages[0] and "sim_resolution: 32" in messages[0]
    assert "4 < |k| <= 5" in messages[0]
    assert result.manifest["splits"]["train"]["resolution_check"]["resolved"] is False
    smooth_check = json.loads((tmp_path / "smooth" / "manifest.json").read_text())["splits"]["train"]["resolution_check"]
    assert smooth_check["max"] < 1e-20 and smooth_check["resolved"] is True


def test_default_threads_are_shared_among_torchrun_ranks_on_a_node(tmp_path, monkeypatch):
    # Without --threads a lone process keeps torch's count; torchrun's co-located ranks split it.
    seen = []
    original = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), original(n)))
    with torch_threads(2):
        seen.clear()
        generate(make(tiny()), tmp_path / "alone", progress=False, environ={})
        generate(make(tiny()), tmp_path / "ranks", progress=False,
                 environ={"RANK": "0", "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"})
        assert torch.get_num_threads() == 2  # restored afterwards
    assert seen[:4] == [2, 2, 1, 2]  # (set, restore) for each run
