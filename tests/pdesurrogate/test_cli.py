"""The Lightning CLI: shipped configs, data→model links, end-to-end fit/test, DDP, one-line errors."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from pdesurrogate.cli import main
from pdesurrogate.training.cli import SurrogateCLI
from pdesurrogate.data import PDEDataModule
from pdesurrogate.training import SurrogateModule

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "fit"
NAMES = [f"{eq}_{arch}{cond}{small}" for eq in ("ns", "swe") for arch in ("fno", "unet")
         for cond in ("", "_cond") for small in ("", "_small")]
# Single-frame-history and forcing-conditioned models for inverse design: name -> dataset.
DESIGN_MODELS = {"ns_fno_cond_h1_small": "ns_ood_small", "swe_fno_cond_h1_small": "swe_ood_small",
                 "ns_fno_forcing_small": "ns_forcing_small"}
# Hybrids (the dataset's solver plus a learned correction): name -> dataset.
HYBRID_MODELS = {f"ns_hybrid{data}{cond}{small}": f"ns_{'kolmogorov_under_resolved' if data else 'ood'}{small}"
                 for data in ("", "_kolmogorov") for cond in ("", "_cond") for small in ("", "_small")}
# The arms of the symmetry experiment (docs/symmetry.md), on ns_ood_small; their configs are
# checked by tests/pdesurrogate/benchmark/test_benchmark.py and they train in the benchmark test.
DESIGN_MODELS.update({f"ns_fno_sym_{arm}_small": "ns_ood_small"
                      for arm in ("none", "declared", "unsigned", "lattice", "averaged")})
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def tiny_overrides(name: str, root: Path, out: Path) -> list[str]:
    """Shrink a shipped config to the 16², 10-frame test dataset and a few steps."""
    width = "--model.network.init_args.hidden_channels"
    return [
        "--data.root", str(root), "--data.rollout_steps", "3", "--data.batch_size", "8",
        "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
        "--trainer.default_root_dir", str(out), "--trainer.logger.init_args.save_dir", str(out),
        "--checkpoint.dirpath", str(out / "checkpoints"), width, "8", *QUIET,
    ] + (["--model.network.init_args.modes", "4"])


def dataset_for(name: str, ns_dataset: Path, multi_dataset: Path) -> Path:
    return ns_dataset if name.startswith("ns") else multi_dataset


def test_sixteen_configs_and_the_design_models_are_shipped():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(NAMES + list(DESIGN_MODELS) + list(HYBRID_MODELS))
    for name in NAMES + list(DESIGN_MODELS) + list(HYBRID_MODELS):
        text = (CONFIGS / f"{name}.yaml").read_text()
        data = (DESIGN_MODELS.get(name) or HYBRID_MODELS.get(name)
                or name.split("_")[0] + "_ood" + ("_small" if name.endswith("_small") else ""))
        assert f"pdesurrogate generate configs/data/{data}.yaml --out data/{data}" in text
        assert f"root: data/{data}\n" in text


@pytest.mark.parametrize("name", NAMES)
def test_every_config_instantiates_with_data_settings_linked_into_the_network(name, ns_dataset, multi_dataset):
    root = dataset_for(name, ns_dataset, multi_dataset)
    # The test dataset holds 10 frames of 16²: shorten the windows and keep 4 modes (the shipped
    # 16 do not fit a 16² grid); a conflicting network history is overridden.
    cli = SurrogateCLI(SurrogateModule, PDEDataModule, run=False, args=[
        "--config", str(CONFIGS / f"{name}.yaml"), "--data.root", str(root), "--data.history", "3",
        "--data.rollout_steps", "2", "--model.network.init_args.history", "7",
        "--model.network.init_args.modes", "4"])
    network, data = cli.model.network, cli.datamodule
    assert type(network).__name__ == ("FNO" if "_fno" in name else "UNet")
    assert network.variables == data.variables == (["vorticity"] if name.startswith("ns") else ["height", "u", "v"])
    assert network.history == data.history == 3
    assert network.future == data.future
    assert network.conditioning == data.conditioning == (["viscosity"] if "_cond" in name else [])
    assert (network.parameter_embedding is not None) == ("_cond" in name)
    assert network.resolution == data.resolution == 16  # read from the dataset, checked at construction


@pytest.mark.parametrize("name", sorted(HYBRID_MODELS))
def test_every_hybrid_config_instantiates_with_the_solver_taking_the_viscosity(name, ns_dataset):
    cli = SurrogateCLI(SurrogateModule, PDEDataModule, run=False, args=[
        "--config", str(CONFIGS / f"{name}.yaml"), "--data.root", str(ns_dataset), "--data.unroll_steps", "2",
        "--data.rollout_steps", "2", "--model.network.init_args.modes", "4"])
    network = cli.model.network
    assert type(network).__name__ == "Hybrid" and network.conditioning == ["viscosity"]
    assert network.condition_network == ("_cond" in name)
    assert network.physics is None  # taken from the dataset when training starts (SurrogateModule.setup)


@pytest.mark.parametrize("name", ["ns_fno_cond_small", "swe_unet_small"])
def test_fit_from_a_shipped_small_config_then_test_end_to_end(name, ns_dataset, multi_dataset, tmp_path):
    root = dataset_for(name, ns_dataset, multi_dataset)
    config = ["--config", str(CONFIGS / f"{name}.yaml")]
    assert main(["fit", *config, *tiny_overrides(name, root, tmp_path)]) == 0
    checkpoints = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and any(c.startswith("best-epoch") for c in checkpoints)
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    init_args = saved["hyper_parameters"]["network"]["init_args"]
    assert init_args["variables"] == (["vorticity"] if name.startswith("ns") else ["height", "u", "v"])
    assert saved["global_step"] == 4
    (metrics_file,) = tmp_path.rglob("metrics.csv")
    rows = list(csv.DictReader(metrics_file.open()))
    errors = [float(r["val/rollout_rel_l2"]) for r in rows if r.get("val/rollout_rel_l2")]
    assert len(errors) == 2 and all(0 < e < 2 for e in errors)

    test_args = ["test", *config, "--data.root", str(root), "--data.rollout_steps", "3", *QUIET,
                 "--model.network.init_args.hidden_channels", "8", "--model.network.init_args.modes", "4",
                 "--trainer.logger", "false", "--ckpt_path", str(tmp_path / "checkpoints" / "last.ckpt")]
    assert main(test_args) == 0
    assert main(["predict", *test_args[1:], "--trainer.default_root_dir", str(tmp_path)]) == 0
    # The predict split (test_ood) as the evaluation contract's predictions file, beside the truth.
    with xr.open_dataset(tmp_path / "predictions" / "test_ood.nc", decode_times=False) as rollouts, \
            xr.open_dataset(root / "test_ood" / "shard-00000.nc", decode_times=False) as truth:
        variable = init_args["variables"][0]
        history = init_args["history"]
        assert rollouts[variable].shape == (2, 3, 16, 16)
        np.testing.assert_array_equal(rollouts["sample"], [0, 1])
        np.testing.assert_allclose(rollouts["time"], truth["time"][history:history + 3])
        np.testing.assert_allclose(rollouts["viscosity"], truth["viscosity"])
        assert rollouts[variable].attrs["units"] == truth[variable].attrs["units"]
        assert rollouts.attrs["score_from"] == history and rollouts.attrs["horizon"] == 3


def test_user_mistakes_print_one_line_and_exit_2(ns_dataset, tmp_path, capsys):
    config = ["--config", str(CONFIGS / "ns_unet_small.yaml")]
    assert main(["fit", *config, "--data.root", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: data.root: dataset directory")
    assert main(["fit", *config, "--data.root", str(ns_dataset), "--data.variables", "[height]"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: data.variables: ['height'] not in")
    assert main(["fit", *config, "--data.root", str(ns_dataset),
                 "--model.network.init_args.channel_multipliers", "[1, 2]"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "error: model.network.init_args.channel_multipliers must give at least 4 levels (got [1, 2])"


def last_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_architectures_are_checked_against_the_dataset_grid_at_construction(ns_dataset, capsys):
    # The shipped full-size configs keep 16 modes, more than a 16² grid holds; six U-Net levels
    # need a grid divisible by 32.
    assert main(["fit", "--config", str(CONFIGS / "ns_fno.yaml"), "--data.root", str(ns_dataset),
                 "--data.history", "2", "--data.rollout_steps", "2"]) == 2
    assert last_error_line(capsys) == \
        "error: model.network.init_args.modes must be <= resolution // 2 = 8 at resolution 16 (got 16)"
    assert main(["fit", "--config", str(CONFIGS / "ns_unet_small.yaml"), "--data.root", str(ns_dataset),
                 "--model.network.init_args.channel_multipliers", "[1, 1, 1, 1, 1, 1]"]) == 2
    assert last_error_line(capsys) == (
        "error: data.resolution (the grid of the dataset in data.root) must be divisible by 2^(levels-1) = 32 "
        "for 6 U-Net levels (got 16)")


def test_corrupt_manifest_is_named_not_blamed_on_the_network(ns_dataset, tmp_path, capsys):
    copy = tmp_path / "dataset"
    shutil.copytree(ns_dataset, copy)
    (copy / "manifest.json").write_text("{\"format\": ")
    assert main(["fit", "--config", str(CONFIGS / "ns_fno_small.yaml"), "--data.root", str(copy)]) == 2
    assert last_error_line(capsys) == (
        f"error: data.root: {copy}/manifest.json is not valid JSON (Expecting value: line 1 column 12 (char 11)); "
        f"run `pdesurrogate verify {copy}`")


def test_a_checkpoint_tested_on_another_grid_fails_with_one_line(ns_dataset, ns_dataset_32, tmp_path, capsys):
    config = ["--config", str(CONFIGS / "ns_unet_small.yaml")]
    overrides = tiny_overrides("ns_unet_small", ns_dataset, tmp_path)
    assert main(["fit", *config, *overrides, "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1"]) == 0
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=True)["hyper_parameters"]["network"]["init_args"]["resolution"] == 16
    capsys.readouterr()
    assert main(["test", *config, "--data.root", str(ns_dataset_32), "--data.rollout_steps", "3", *QUIET,
                 "--model.network.init_args.hidden_channels", "8", "--model.network.init_args.modes", "4",
                 "--trainer.logger", "false", "--ckpt_path", str(checkpoint)]) == 2
    assert last_error_line(capsys) == (
        f"error: data.root: {ns_dataset_32} has data.resolution 32, but the checkpoint's UNet was trained at "
        "resolution 16 (only resolution-independent models such as the FNO can change grids)")


@pytest.mark.slow
def test_ddp_with_two_cpu_processes_runs_one_epoch(ns_dataset, tmp_path):
    command = [str(Path(sys.executable).parent / "pdesurrogate"), "fit",
               "--config", str(CONFIGS / "ns_fno_small.yaml"), *tiny_overrides("ns_fno_small", ns_dataset, tmp_path),
               "--trainer.max_epochs", "1", "--trainer.strategy", "ddp", "--trainer.devices", "2",
               "--trainer.accelerator", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distributed_backend=gloo" in result.stderr + result.stdout
    assert "All distributed processes registered. Starting with 2 processes" in result.stderr + result.stdout
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 2  # 2 batches per rank, gradients averaged across both


def test_each_fit_keeps_its_own_checkpoints_and_test_picks_the_selected_one(ns_dataset, tmp_path, caplog):
    # No checkpoint.dirpath: checkpoints land in the logger's version folder beside the run's logs.
    config = ["--config", str(CONFIGS / "ns_fno_small.yaml"), "--data.root", str(ns_dataset),
              "--data.rollout_steps", "3", "--data.batch_size", "8", "--trainer.limit_train_batches", "1",
              "--trainer.limit_val_batches", "1", "--trainer.logger.init_args.save_dir", str(tmp_path),
              "--model.network.init_args.hidden_channels", "8", "--model.network.init_args.modes", "4", *QUIET]
    assert main(["fit", *config, "--trainer.max_epochs", "1"]) == 0
    assert main(["fit", *config, "--trainer.max_epochs", "2"]) == 0
    first, second = (tmp_path / "lightning_logs" / f"version_{v}" for v in (0, 1))
    for version, epochs in ((first, 1), (second, 2)):
        names = sorted(p.name for p in (version / "checkpoints").iterdir())
        assert names[1:] == ["budget.json", "last.ckpt"] and names[0].startswith("best-epoch")
        budget = json.loads((version / "checkpoints" / "budget.json").read_text())
        assert budget["epochs_completed"] == budget["max_epochs"] == epochs and not budget["cut_short"]
        assert torch.load(version / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == epochs - 1
        assert (version / "metrics.csv").is_file() and (version / "config.yaml").is_file()
    with caplog.at_level("INFO"):
        assert main(["test", *config, "--ckpt_path", "best"]) == 0
    (selected,) = (second / "checkpoints").glob("best-epoch*.ckpt")
    assert f"ckpt_path: using {selected}" in caplog.text


def test_best_without_a_finished_fit_is_one_line(ns_dataset, tmp_path, capsys):
    assert main(["test", "--config", str(CONFIGS / "ns_fno_small.yaml"), "--data.root", str(ns_dataset),
                 "--trainer.logger.init_args.save_dir", str(tmp_path), "--ckpt_path", "best"]) == 2
    line = last_error_line(capsys)
    assert line.startswith("error: ckpt_path: no selected (best-epoch*.ckpt) checkpoint of a finished fit under")
