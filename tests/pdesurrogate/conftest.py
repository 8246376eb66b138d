"""Tiny dataset directories written by the real generator (``pdesurrogate generate``).

16² saved grids, 10 frames, 8 train and 2 samples in every other split, 4 samples per shard:
each directory takes well under two seconds to generate, and its flows are genuine solutions
(a model can learn their dynamics, and conditioning on viscosity has something to find).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pdesurrogate.cli import main

SPLITS = """\
batch_size: 16
samples_per_shard: 4
splits:
  train:    {{viscosity: [{a}, {b}], samples_per_viscosity: 4, seed: 0}}
  val:      {{viscosity: [{a}, {b}], samples_per_viscosity: 1, seed: 1}}
  test_id:  {{viscosity: [{a}, {b}], samples_per_viscosity: 1, seed: 2}}
  test_ood: {{viscosity: [{ood}], samples_per_viscosity: 2, seed: 3}}
"""

NAVIER_STOKES = """\
equation: navier_stokes
solver: spectral
scheme: cn_rk4
domain_length: 1.0
sim_resolution: 32
saved_resolution: 16
dtype: float32
time: {t_end: 2.25, save_interval: 0.25, spinup: 0.0, cfl: 0.5}
forcing: {kind: fno, amplitude: 0.1}
initial_condition: {kind: gaussian_random_field, alpha: 4.0, tau: 7.0}
variables: [vorticity]
""" + SPLITS.format(a="2.0e-2", b="1.0e-2", ood="5.0e-3")

SHALLOW_WATER = """\
equation: shallow_water
solver: finite_difference
domain_length: 1.0
sim_resolution: 32
saved_resolution: 16
dtype: float32
time: {t_end: 0.9, save_interval: 0.1, spinup: 0.0, cfl: 0.5}
physics: {coriolis: 10.0, gravity: 1.0, mean_depth: 1.0, hyperviscosity: 1.0e-6}
initial_condition: {kind: balanced_random, peak_wavenumber: 2.0, rossby: 0.1}
variables: [height, u, v, vorticity]
""" + SPLITS.format(a="1.0e-3", b="5.0e-4", ood="2.5e-4")


def generate(config: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.yaml"
    path.write_text(config)
    out = directory / "dataset"
    assert main(["generate", str(path), "--out", str(out)]) == 0
    return out


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
    """Forced Navier–Stokes vorticity (FNO forcing), ν ∈ {0.02, 0.01}, out-of-distribution ν = 0.005."""
    return generate(NAVIER_STOKES, tmp_path_factory.mktemp("ns"))


@pytest.fixture(scope="session")
def ns_dataset_32(tmp_path_factory) -> Path:
    """The same flows saved at 32² instead of 16² (a checkpoint must not silently change grids)."""
    return generate(NAVIER_STOKES.replace("saved_resolution: 16", "saved_resolution: 32"),
                    tmp_path_factory.mktemp("ns32"))


@pytest.fixture(scope="session")
def multi_dataset(tmp_path_factory) -> Path:
    """Rotating shallow water: height, u, v and vorticity."""
    return generate(SHALLOW_WATER, tmp_path_factory.mktemp("swe"))


@pytest.fixture(autouse=True)
def run_in_a_temporary_folder(tmp_path, monkeypatch):
    """Lightning writes what a command names relative to the working directory (config.yaml of a
    `test` without default_root_dir, lightning_logs/): never into the checkout."""
    monkeypatch.chdir(tmp_path)
