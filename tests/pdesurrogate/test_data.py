"""Data: windows equal the stored frames, lazy file handles, statistics, one-line errors."""

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch
import xarray as xr

from pdesurrogate.errors import UserError
from pdesurrogate.data import FieldNormaliser, PDEDataModule


def stored(root, split, sample, variables, frames):
    """Frames of one sample straight from the shard files with xarray (4 samples per shard)."""
    with xr.open_dataset(root / split / f"shard-{sample // 4:05d}.nc", decode_times=False) as ds:
        return np.stack([ds[v].values[sample % 4, frames] for v in variables], axis=1)


def test_training_windows_are_the_stored_frames(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, future=1, unroll_steps=3, batch_size=4)
    windows = dm.windows("train", 3)
    assert windows.windows_per_sample == 10 - (2 + 3) + 1
    assert len(windows) == 8 * windows.windows_per_sample
    index = 5 * windows.windows_per_sample + 4  # sample 5 (second shard), window starting at t = 4
    item = windows[index]
    expected = stored(ns_dataset, "train", 5, ["vorticity"], slice(4, 9))
    np.testing.assert_array_equal(item["history"].numpy(), expected[:2])
    np.testing.assert_array_equal(item["target"].numpy(), expected[2:])


def test_extra_train_roots_append_their_trajectories(ns_dataset, multi_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, conditioning=["viscosity"],
                       extra_train_roots=[str(ns_dataset)])
    loader = dm.train_dataloader()
    per_sample = 10 - 3 + 1
    assert len(loader.dataset) == 2 * 8 * per_sample
    # the appended copy's sample 8 + i is the root's sample i, with its own viscosity
    first, copy = loader.dataset[3 * per_sample + 1], loader.dataset[(8 + 3) * per_sample + 1]
    np.testing.assert_array_equal(first["history"].numpy(), copy["history"].numpy())
    assert dm.train.parameters["viscosity"][11] == dm.train.parameters["viscosity"][3]
    # another kind of dataset (other variables and frames) is refused by name
    with pytest.raises(UserError, match=r"data.(extra_train_roots\[0\]|variables)"):
        PDEDataModule(str(ns_dataset), ["vorticity"], history=2, extra_train_roots=[str(multi_dataset)])


def test_strides_and_variable_order(multi_dataset):
    dm = PDEDataModule(str(multi_dataset), ["u", "height"], history=2, future=1, time_stride=2, window_stride=3,
                       rollout_steps=2, conditioning=["viscosity", "coriolis"])
    windows = dm.windows("train", 1)
    # span (2 + 1 − 1)·2 + 1 = 5 frames: starts 0 and 3 fit in 10 frames.
    assert list(windows.starts) == [0, 3]
    item = windows[3]  # sample 1, start 3: frames 3, 5, 7
    expected = stored(multi_dataset, "train", 1, ["u", "height"], [3, 5, 7])
    np.testing.assert_array_equal(torch.cat((item["history"], item["target"])).numpy(), expected)
    np.testing.assert_allclose(item["parameters"].numpy(), [1e-3, 10.0], rtol=1e-6)


def test_batches_carry_per_sample_viscosity(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, conditioning=["viscosity"], batch_size=64)
    batch = next(iter(dm.train_dataloader()))
    assert batch["history"].shape == (64, 2, 1, 16, 16) and batch["target"].shape == (64, 1, 1, 16, 16)
    assert batch["parameters"].shape == (64, 1)
    assert sorted(set(batch["parameters"][:, 0].tolist())) == pytest.approx([0.01, 0.02])


def test_evaluation_loaders_one_step_and_rollout(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, future=2, rollout_steps=4)
    assert dm.evaluation_loaders("test") == [("test_id", "one_step"), ("test_id", "rollout"),
                                            ("test_ood", "one_step"), ("test_ood", "rollout")]
    one_step, rollout = dm.val_dataloader()
    assert len(rollout.dataset) == 2  # one window per trajectory, from t = 0
    item = rollout.dataset[1]
    assert item["target"].shape == (8, 1, 16, 16)
    np.testing.assert_array_equal(item["history"].numpy(), stored(ns_dataset, "val", 1, ["vorticity"], slice(0, 2)))
    assert one_step.dataset[0]["target"].shape == (2, 1, 16, 16)


def test_shuffling_depends_only_on_seed_and_epoch(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, seed=3)
    sampler = dm.train_dataloader().sampler
    first, again = list(sampler), list(sampler)
    sampler.set_epoch(1)
    assert first == again and sorted(first) == list(range(len(first))) and list(sampler) != first


def test_files_open_lazily_one_handle_per_process(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2)
    windows = dm.windows("train", 1)
    assert windows._handles == {}  # nothing is opened until a window is read
    windows[0]
    assert list(windows._handles) == [0]
    clone = pickle.loads(pickle.dumps(windows))  # what a spawned DataLoader worker receives
    assert clone._handles == {}
    np.testing.assert_array_equal(clone[len(clone) - 1]["target"], windows[len(windows) - 1]["target"])


def test_workers_read_their_own_handles(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"], history=2, batch_size=64, num_workers=1)
    batch = next(iter(dm.train_dataloader()))
    assert batch["history"].shape[0] == 64


def test_statistics_come_from_stats_json_and_normalise_exactly(ns_dataset):
    dm = PDEDataModule(str(ns_dataset), ["vorticity"])
    stats = json.loads((ns_dataset / "stats.json").read_text())["variables"]["vorticity"]
    assert dm.stats == {"vorticity": (stats["mean"], stats["std"])}
    normaliser = FieldNormaliser(2)
    normaliser.set_statistics({"a": (1.0, 2.0), "b": (-3.0, 0.5)}, ["a", "b"])
    fields = torch.tensor([[5.0, -2.0]])[..., None, None]
    torch.testing.assert_close(normaliser.normalise(fields)[..., 0, 0], torch.tensor([[2.0, 2.0]]))
    torch.testing.assert_close(normaliser.denormalise(normaliser.normalise(fields)), fields)


@pytest.mark.parametrize("change,message", [
    (dict(root="/nonexistent/ns"), "data.root: dataset directory /nonexistent/ns does not exist"),
    (dict(val_split="validation"), "data.val_split: split 'validation' is not in .* \\(available: train, val, test_id, test_ood\\)"),
    (dict(variables=["height"]), "data.variables: \\['height'\\] not in split 'train' .*available: vorticity"),
    (dict(conditioning=["reynolds"]), "data.conditioning: \\['reynolds'\\] .*available: viscosity, drag, forcing_amplitude\\)"),
    (dict(rollout_steps=9), "data.rollout_steps: .* needs 11 frames; split 'train' has 10"),
    (dict(history=0), "data.history must be an integer >= 1"),
])
def test_mistakes_fail_with_one_line_naming_the_field(ns_dataset, change, message):
    kwargs = {**dict(root=str(ns_dataset), variables=["vorticity"], history=2), **change}
    with pytest.raises(UserError, match=message) as error:
        PDEDataModule(**kwargs)
    assert "\n" not in str(error.value)


def test_directory_without_manifest_is_refused(ns_dataset, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(ns_dataset / "train", partial / "train")
    with pytest.raises(UserError, match="has no manifest.json"):
        PDEDataModule(str(partial), ["vorticity"])


def copy_metadata(dataset, tmp_path):
    """A copy of the dataset directory whose JSON files can be spoiled (shards are linked)."""
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy, copy_function=os.symlink)
    for name in ("manifest.json", "stats.json"):
        (copy / name).unlink()
        shutil.copy(dataset / name, copy / name)
    return copy


def test_resolution_is_read_from_the_dataset(ns_dataset):
    assert PDEDataModule(str(ns_dataset), ["vorticity"]).resolution == 16


def test_corrupt_manifest_is_named_as_invalid_json(ns_dataset, tmp_path):
    copy = copy_metadata(ns_dataset, tmp_path)
    text = (copy / "manifest.json").read_text()
    (copy / "manifest.json").write_text(text[: len(text) // 2])  # a truncated copy
    with pytest.raises(UserError, match=f"^data.root: {copy}/manifest.json is not valid JSON \\(.*line") as error:
        PDEDataModule(str(copy), ["vorticity"])
    assert "\n" not in str(error.value)


def test_manifest_without_splits_is_refused(ns_dataset, tmp_path):
    copy = copy_metadata(ns_dataset, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["splits"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="^data.root: .*manifest.json lists no splits"):
        PDEDataModule(str(copy), ["vorticity"])
