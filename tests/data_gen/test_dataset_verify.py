"""``verify`` names every problem: truncated or altered shards, NaNs, missing splits, shared seeds."""

from __future__ import annotations

import json
import os
import shutil

import netCDF4
import numpy as np
import pytest
import yaml

from data_gen.dataset import generate, parse_config, verify
from data_gen.dataset.writer import sha256_of
from pdesurrogate.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::data_gen.dataset.UnderResolvedWarning")

from .conftest import tiny_config, torch_threads

# Vorticity only; two shards of train and one of test_ood, each split with its own viscosity.
CONFIG = yaml.safe_dump(tiny_config(
    variables=["vorticity"],
    batch_size=16,
    samples_per_shard=2,
    splits={
        "train": {"viscosity": [2.0e-2], "samples_per_viscosity": 4, "seed": 0},
        "test_ood": {"viscosity": [5.0e-3], "samples_per_viscosity": 2, "seed": 1},
    },
), sort_keys=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify") / "clean"
    with torch_threads(1):  # 16² transforms gain nothing from threads on a busy CPU
        generate(parse_config(CONFIG), root, progress=False)
    return root


@pytest.fixture
def copy(clean, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(clean, target)
    return target


def test_clean_dataset_passes_and_cli_exits_zero(clean, capsys):
    assert verify(clean).problems == []
    assert main(["verify", str(clean)]) == 0
    assert "ok, 6 samples (train 4, test_ood 2) in 3 shards" in capsys.readouterr().out


def test_truncated_shard_is_named(copy, capsys):
    path = copy / "train" / "shard-00001.nc"
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    problems = verify(copy).problems
    assert any(p.startswith("train/shard-00001.nc:") and "truncated" in p for p in problems), problems
    assert main(["verify", str(copy)]) == 1
    assert "problem: train/shard-00001.nc" in capsys.readouterr().out


def test_flipped_byte_is_named(copy):
    path = copy / "test_ood" / "shard-00000.nc"
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))
    problems = verify(copy).problems
    # The altered file is named once and not parsed: corrupt HDF5 metadata can hang the library.
    assert problems == ["test_ood/shard-00000.nc: sha256 does not match manifest.json (the file was altered)"]


def refresh_checksum(root, split: str, index: int) -> None:
    """Record a shard's new bytes in the manifest, so that only what was written into it is wrong."""
    manifest = json.loads((root / "manifest.json").read_text())
    entry = manifest["splits"][split]["shards"][index]
    path = root / entry["file"]
    entry["sha256"], entry["bytes"] = sha256_of(path), path.stat().st_size
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_nan_values_and_missing_split_are_each_named(copy):
    # Write a NaN through netCDF (a valid file).
    path = copy / "train" / "shard-00000.nc"
    with netCDF4.Dataset(path, "r+") as ds:
        ds["vorticity"][1, 1, 2, 3] = np.nan
    refresh_checksum(copy, "train", 0)
    shutil.rmtree(copy / "test_ood")
    problems = verify(copy).problems
    assert "train/shard-00000.nc: 'vorticity' has NaN/Inf in sample(s) 1" in problems
    assert "split 'test_ood': directory test_ood/ missing" in problems
    assert "test_ood/shard-00000.nc: missing" in problems


def test_shared_seeds_between_splits_are_named(copy):
    # Pretend test_ood reused train's samples: copy a train shard's seeds into it.
    with netCDF4.Dataset(copy / "train" / "shard-00000.nc") as train:
        seeds = train["seed"][:]
    with netCDF4.Dataset(copy / "test_ood" / "shard-00000.nc", "r+") as ood:
        ood["seed"][:] = seeds
    refresh_checksum(copy, "test_ood", 0)
    problems = verify(copy).problems
    assert "splits 'train' and 'test_ood' share 2 sample seed(s): not disjoint" in problems
    assert any(p.startswith("test_ood/shard-00000.nc: seeds differ") for p in problems)


def test_missing_directory_is_a_user_error(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith("error: dataset directory")
