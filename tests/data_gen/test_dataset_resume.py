"""Crash safety and resuming: a SIGKILLed run is finished by a rerun without redoing finished shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
import yaml

from data_gen.dataset import generate, parse_config, verify
from data_gen.dataset.directory import DatasetDirectory

pytestmark = [pytest.mark.filterwarnings("ignore::data_gen.dataset.UnderResolvedWarning"),
              pytest.mark.usefixtures("one_thread")]


def config_text(samples: int = 8, viscosity: float = 1.0e-2) -> str:
    return yaml.safe_dump({
        "equation": "navier_stokes",
        "sim_resolution": 16,
        "saved_resolution": 8,
        # A small max_dt makes each one-sample shard take long enough to be killed part-way.
        "time": {"t_end": 1.0, "save_interval": 0.5, "max_dt": 4.0e-3},
        "forcing": {"kind": "fno"},
        "initial_condition": {"kind": "gaussian_random_field"},
        "batch_size": 1,
        "samples_per_shard": 1,
        "splits": {"train": {"viscosity": [viscosity], "samples_per_viscosity": samples, "seed": 0}},
    }, sort_keys=False)


def finished_shards(root) -> dict[str, tuple[int, int]]:
    """Shards with a completion record, with their inode and modification time."""
    names = [json.loads(p.read_text())["file"] for p in (root / ".generation" / "records").glob("*.json")]
    return {name: ((root / name).stat().st_ino, (root / name).stat().st_mtime_ns) for name in names}


def test_sigkill_part_way_then_rerun_completes_without_redoing_finished_shards(tmp_path):
    config_path, root = tmp_path / "config.yaml", tmp_path / "data"
    config_path.write_text(config_text())
    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pdesurrogate.cli import main; sys.exit(main())",
         "generate", str(config_path), "--out", str(root), "--no-progress"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            records = root / ".generation" / "records"
            if records.is_dir() and len(list(records.glob("*.json"))) >= 2:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    done = finished_shards(root)
    assert 2 <= len(done) < 8 and not (root / "manifest.json").exists()
    # Only complete shards carry the final name; a partial one is at most a .tmp.
    assert {f"train/{p.name}" for p in (root / "train").glob("*.nc")} == set(done)

    result = generate(parse_config(config_path.read_text()), root, progress=False)
    assert result.manifest is not None
    assert (result.skipped_shards, result.written_shards) == (len(done), 8 - len(done))
    for name, (inode, mtime) in done.items():
        assert ((root / name).stat().st_ino, (root / name).stat().st_mtime_ns) == (inode, mtime), name
    assert list((root / "train").glob("*.tmp")) == []
    report = verify(root)
    assert report.clean, report.problems

    # A rerun of a complete dataset checks checksums and does nothing else, not even to the manifest.
    manifest_mtime = (root / "manifest.json").stat().st_mtime_ns
    again = generate(parse_config(config_path.read_text()), root, progress=False)
    assert (again.skipped_shards, again.written_shards) == (8, 0)
    assert (root / "manifest.json").stat().st_mtime_ns == manifest_mtime


def test_rerun_recomputes_a_missing_or_altered_shard(tmp_path):
    config = parse_config(config_text(samples=2, viscosity=5.0e-2))
    root = tmp_path / "data"
    generate(config, root, progress=False)
    reference = xr.open_dataset(root / "train" / "shard-00001.nc", decode_times=False).load()
    (root / "train" / "shard-00000.nc").unlink()
    path = root / "train" / "shard-00001.nc"
    with open(path, "r+b") as f:  # flip one byte in the middle of the file
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    result = generate(config, root, progress=False)
    assert (result.skipped_shards, result.written_shards) == (0, 2)
    assert verify(root).clean
    with xr.open_dataset(root / "train" / "shard-00001.nc", decode_times=False) as ds:
        np.testing.assert_array_equal(ds["vorticity"].values, reference["vorticity"].values)


def test_different_config_refuses_unless_overwrite(tmp_path):
    root = tmp_path / "data"
    generate(parse_config(config_text(samples=1, viscosity=5.0e-2)), root, progress=False)
    other = parse_config(config_text(samples=1, viscosity=4.0e-2))
    with pytest.raises(FileExistsError, match=r"different config \(differs in splits\.train\.viscosity\).*--overwrite"):
        generate(other, root, progress=False)
    (root / "notes.txt").write_text("a user's file")
    result = generate(other, root, overwrite=True, progress=False)
    assert result.written_shards == 1 and verify(root).clean
    assert (root / "notes.txt").read_text() == "a user's file"  # only the dataset's own files are replaced
    with xr.open_dataset(root / "train" / "shard-00000.nc", decode_times=False) as ds:
        assert ds["viscosity"].values.tolist() == [4.0e-2]


def test_incomplete_dataset_is_reported_and_finished_by_the_other_shard(tmp_path):
    config = parse_config(config_text(samples=3, viscosity=5.0e-2))
    root = tmp_path / "data"
    partial = generate(config, root, shard="0/2", progress=False)
    assert partial.manifest is None and partial.missing_shards == 1
    report = verify(root)
    assert not report.clean
    assert any(p.startswith("train/shard-00001.nc: not generated yet") for p in report.problems)
    final = generate(config, root, shard="1/2", progress=False)
    assert final.manifest is not None and verify(root).clean


def test_verify_completes_the_manifest_when_the_last_process_died_before_writing_it(tmp_path, monkeypatch):
    config = parse_config(config_text(samples=2, viscosity=5.0e-2))
    root = tmp_path / "data"
    with monkeypatch.context() as patch:
        # Every shard finished, but no process got as far as writing the manifest.
        patch.setattr(DatasetDirectory, "complete", lambda self, config, shards: None)
        generate(config, root, shard="0/2", progress=False)
        generate(config, root, shard="1/2", progress=False)
    assert not (root / "manifest.json").exists()
    report = verify(root)
    assert report.clean, report.problems
    manifest = json.loads((root / "manifest.json").read_text())
    assert [s["file"] for s in manifest["splits"]["train"]["shards"]] == ["train/shard-00000.nc", "train/shard-00001.nc"]
    assert (root / "stats.json").is_file()
