"""Every user mistake is one ``error:`` line naming the field or path, exit 2, no traceback; untrusted
checkpoints and configs never choose what code is imported; corrupted shards are never trained on."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import torch

from pdesurrogate.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def small_fit(root: Path, out: Path, config: str = "ns_fno_small") -> list[str]:
    return ["--config", str(CONFIGS / "fit" / f"{config}.yaml"), "--data.root", str(root),
            "--data.rollout_steps", "3", "--data.batch_size", "8", "--trainer.max_epochs", "1",
            "--trainer.limit_train_batches", "1", "--trainer.limit_val_batches", "1",
            "--trainer.default_root_dir", str(out), "--trainer.logger", "false",
            "--checkpoint.dirpath", str(out / "checkpoints"), "--model.network.init_args.hidden_channels", "8",
            "--model.network.init_args.modes", "4", *QUIET]


def refused(capsys, argv: list[str], *named: str) -> str:
    """Run the command; assert exit 2, exactly one ``error:`` line that names each of ``named``,
    and no traceback. Returns the line."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for name in named:
        assert str(name) in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def checkpoint(ns_dataset, tmp_path_factory) -> Path:
    """A real FNO checkpoint (hidden_channels 8, modes 4) of one training step."""
    out = tmp_path_factory.mktemp("fit")
    assert main(["fit", *small_fit(ns_dataset, out)]) == 0
    return out / "checkpoints" / "last.ckpt"


def test_checkpoint_is_read_only_from_plain_data(checkpoint):
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["hyper_parameters"]["network"]["class_path"] == "pdesurrogate.models.fno.FNO"


# --- output directories and config paths -------------------------------------------------------
def test_generate_out_that_is_a_file_or_cannot_be_created(tmp_path, capsys):
    config = str(CONFIGS / "data" / "ns_ood_small.yaml")
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    refused(capsys, ["generate", config, "--out", str(afile)], "--out", afile, "is a file")
    refused(capsys, ["generate", config, "--out", str(afile / "dataset")], "--out", "cannot be created")
    assert afile.read_text() == "keep me"


def test_config_path_that_is_a_directory(tmp_path, capsys):
    line = refused(capsys, ["generate", str(CONFIGS / "data"), "--out", str(tmp_path / "d")], "CONFIG")
    assert "is a directory" in line
    line = refused(capsys, ["fit", "--config", str(CONFIGS / "fit"), "--data.root", str(tmp_path)], "--config")
    assert "is a directory" in line


def test_dataset_config_that_is_not_text(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_bytes(b"\xff\xfe\x00binary")
    refused(capsys, ["generate", str(config), "--out", str(tmp_path / "d")], "CONFIG", "not a UTF-8 text file")
    assert not (tmp_path / "d").exists()


# --- datasets ----------------------------------------------------------------------------------
def test_manifest_that_is_not_utf8(ns_dataset, tmp_path, capsys):
    copy = tmp_path / "dataset"
    shutil.copytree(ns_dataset, copy)
    (copy / "manifest.json").write_bytes(b"\xff\xfe{")
    refused(capsys, ["fit", *small_fit(copy, tmp_path / "run")], "data.root", copy / "manifest.json",
            "not valid JSON", "pdesurrogate verify")


@pytest.mark.parametrize("damage", ["truncated", "zero bytes", "not netcdf"])
def test_damaged_shard_is_named_with_verify(damage, ns_dataset, tmp_path, capsys):
    copy = tmp_path / "dataset"
    shutil.copytree(ns_dataset, copy)
    shard = copy / "train" / "shard-00001.nc"
    if damage == "truncated":
        shard.write_bytes(shard.read_bytes()[:3000])
    elif damage == "zero bytes":
        shard.write_bytes(b"")
    else:
        shard.write_text("these are not the trajectories you are looking for\n")
    refused(capsys, ["fit", *small_fit(copy, tmp_path / "run")], "data.train_split", shard, "pdesurrogate verify")
    assert not (tmp_path / "run" / "checkpoints").exists()  # refused before any training


def test_fit_refuses_a_shard_with_one_flipped_data_byte(ns_dataset, tmp_path, capsys):
    copy = tmp_path / "dataset"
    shutil.copytree(ns_dataset, copy)
    shard = copy / "val" / "shard-00000.nc"
    with netCDF4.Dataset(shard) as nc:
        first = np.asarray(nc["vorticity"][0, 0], dtype="<f4").tobytes()[:32]
    raw = bytearray(shard.read_bytes())
    offset = raw.find(first)
    assert offset > 0  # uncompressed field data: the byte flipped below is a vorticity value
    raw[offset + 3] ^= 0x01
    shard.write_bytes(bytes(raw))
    with netCDF4.Dataset(shard) as nc:  # still a perfectly readable netCDF file, with one value changed
        changed = np.asarray(nc["vorticity"][0, 0])
    with netCDF4.Dataset(ns_dataset / "val" / "shard-00000.nc") as nc:
        assert np.count_nonzero(changed != np.asarray(nc["vorticity"][0, 0])) == 1
    refused(capsys, ["fit", *small_fit(copy, tmp_path / "run")], "data.val_split", shard, "sha256")


# --- training options -------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, accepted", [
    ("--model.learning_rate", "-1", "model.learning_rate must be > 0"),
    ("--model.weight_decay", "-0.1", "model.weight_decay must be >= 0"),
    ("--model.warmup_steps", "-5", "model.warmup_steps must be an integer >= 0"),
    ("--data.num_workers", "-1", "data.num_workers must be an integer >= 0"),
    ("--trainer.max_epochs", "-1", "trainer.max_epochs"),
])
def test_bad_training_options(option, value, accepted, ns_dataset, tmp_path, capsys):
    refused(capsys, ["fit", *small_fit(ns_dataset, tmp_path), option, value], accepted)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_accelerator_the_machine_lacks(ns_dataset, tmp_path, capsys):
    refused(capsys, ["fit", *small_fit(ns_dataset, tmp_path), "--trainer.accelerator", "cuda"],
            "trainer:", "CUDAAccelerator")


# --- checkpoints ------------------------------------------------------------------------------
def test_checkpoint_files_that_are_not_checkpoints(ns_dataset, checkpoint, tmp_path, capsys):
    test = ["test", *small_fit(ns_dataset, tmp_path)]
    refused(capsys, [*test, "--ckpt_path", str(checkpoint.parent)], "ckpt_path", "is a directory")
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    refused(capsys, [*test, "--ckpt_path", str(empty)], "ckpt_path", empty, "empty")
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoint.read_bytes()[:5000])
    refused(capsys, [*test, "--ckpt_path", str(truncated)], "ckpt_path", truncated, "not a pdesurrogate checkpoint")
    text = tmp_path / "notes.ckpt"
    text.write_text("epoch 3 was the best one\n")
    refused(capsys, [*test, "--ckpt_path", str(text)], "ckpt_path", text, "not a pdesurrogate checkpoint")
    refused(capsys, [*test, "--ckpt_path", str(tmp_path / "missing.ckpt")], "ckpt_path", "does not exist")


@pytest.fixture
def marker_module(tmp_path, monkeypatch):
    """An importable module whose import writes a file: proof that nothing imported it."""
    name = "pdesurrogate_test_marker"
    (tmp_path / "modules").mkdir()
    marker = tmp_path / "imported"
    (tmp_path / "modules" / f"{name}.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n\nclass Network:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    yield name, marker
    assert not marker.exists() and name not in sys.modules


def test_pickled_payload_is_one_line(ns_dataset, checkpoint, marker_module, tmp_path, capsys):
    name, marker = marker_module
    payload = torch.load(checkpoint, weights_only=True)
    # A pickled object of a foreign class, written by torch.save: what a poisoned file holds.
    payload["callbacks"]["extra"] = type("Payload", (), {"__module__": name, "__reduce__":
                                                         lambda self: (print, ("pwned",))})()
    poisoned = tmp_path / "poisoned.ckpt"
    torch.save(payload, poisoned)
    refused(capsys, ["test", *small_fit(ns_dataset, tmp_path), "--ckpt_path", str(poisoned)],
            "ckpt_path", poisoned, "unsafe")


@pytest.mark.parametrize("names_a_model", [True, False])
def test_checkpoint_naming_a_foreign_module_imports_nothing(names_a_model, ns_dataset, checkpoint, marker_module,
                                                            tmp_path, capsys):
    name, _ = marker_module
    payload = torch.load(checkpoint, weights_only=True)
    payload["hyper_parameters"]["network"]["class_path"] = f"{name}.Network"
    hostile = tmp_path / "hostile.ckpt"
    torch.save(payload, hostile)
    argv = ["test", *small_fit(ns_dataset, tmp_path)] if names_a_model else \
        ["test", "--data.root", str(ns_dataset), "--data.variables", "[vorticity]", "--data.history", "2", *QUIET]
    refused(capsys, [*argv, "--ckpt_path", str(hostile)], "ckpt_path", f"{name}.Network", "nothing was imported")


def test_config_naming_a_foreign_module_imports_nothing(ns_dataset, marker_module, tmp_path, capsys):
    name, _ = marker_module
    config = tmp_path / "fit.yaml"
    config.write_text((CONFIGS / "fit" / "ns_fno_small.yaml").read_text().replace(
        "lightning.pytorch.loggers.CSVLogger", f"{name}.Network"))
    refused(capsys, ["fit", "--config", str(config), "--data.root", str(ns_dataset)],
            "trainer.logger.class_path", f"{name}.Network", "nothing was imported")


def test_hostile_sizes_are_refused_before_allocating(ns_dataset, checkpoint, tmp_path, capsys):
    payload = torch.load(checkpoint, weights_only=True)
    argv = ["test", "--data.root", str(ns_dataset), "--data.variables", "[vorticity]", "--data.history", "2", *QUIET]
    hostile = tmp_path / "huge.ckpt"
    # 1e5 channels: 2.6e11 parameters, a terabyte if built; 1e9: more values than an int64 counts.
    for width, refusal in ((10**5, "inconsistent"), (10**9, "do not build")):
        payload["hyper_parameters"]["network"]["init_args"]["hidden_channels"] = width
        torch.save(payload, hostile)
        refused(capsys, [*argv, "--ckpt_path", str(hostile)], "ckpt_path", hostile, refusal)


def test_checkpoint_and_config_architectures_must_agree(ns_dataset, checkpoint, tmp_path, capsys):
    # A U-Net config with the FNO checkpoint: refused, not silently run as the FNO.
    line = refused(capsys, ["test", *small_fit(ns_dataset, tmp_path, "ns_unet_small"), "--ckpt_path", str(checkpoint)],
                   "ckpt_path", "model.network.class_path", "UNet", "FNO")
    assert "vs" in line
    # A width on the command line that differs from the checkpoint's: both values named.
    refused(capsys, ["test", *small_fit(ns_dataset, tmp_path), "--model.network.init_args.hidden_channels", "16",
                     "--ckpt_path", str(checkpoint)], "model.network.init_args.hidden_channels: 16 vs 8")
    # A training setting too (a resumed fit would silently take the checkpoint's).
    refused(capsys, ["fit", *small_fit(ns_dataset, tmp_path), "--model.learning_rate", "0.5",
                     "--ckpt_path", str(checkpoint)], "model.learning_rate: 0.5 vs 0.002")


def test_naming_no_model_uses_the_checkpoints_and_says_so(ns_dataset, checkpoint, tmp_path, capsys, caplog):
    argv = ["test", "--data.root", str(ns_dataset), "--data.variables", "[vorticity]", "--data.history", "2",
            "--data.rollout_steps", "3", "--trainer.logger", "false", *QUIET, "--ckpt_path", str(checkpoint)]
    with caplog.at_level("INFO"):
        assert main(argv) == 0
    assert "model: using the checkpoint's pdesurrogate.models.fno.FNO (hidden_channels=8" in caplog.text
    # A config that names a model can hand it back to the checkpoint with `--model.network null`.
    with caplog.at_level("INFO"):
        assert main(["test", *small_fit(ns_dataset, tmp_path, "ns_unet_small"), "--model.network", "null",
                     "--ckpt_path", str(checkpoint)]) == 0
    assert caplog.text.count("model: using the checkpoint's") == 2


def test_no_model_and_no_checkpoint(ns_dataset, capsys):
    refused(capsys, ["fit", "--data.root", str(ns_dataset), "--data.variables", "[vorticity]"],
            "model.network", "no architecture named")


def test_load_surrogate_rebuilds_the_stored_model_and_refuses_the_rest(ns_dataset, checkpoint, tmp_path):
    from pdesurrogate.data import DatasetReader
    from pdesurrogate.errors import UserError
    from pdesurrogate.evaluation.evaluate import evaluate_split
    from pdesurrogate.evaluation.scoring import ScoringWindow
    from pdesurrogate.training.checkpoint import load_surrogate

    module = load_surrogate(checkpoint)
    stored = torch.load(checkpoint, weights_only=True)["state_dict"]
    assert stored.keys() == module.state_dict().keys()
    assert all(torch.equal(stored[k], v) for k, v in module.state_dict().items())
    assert not module.training and module.network.hparams["hidden_channels"] == 8
    rows = evaluate_split(module, DatasetReader(ns_dataset), "test_id", ScoringWindow(2, 3), "fno").rows
    assert {r[0] for r in rows} == {"fno", "persistence", "training_mean"}
    payload = torch.load(checkpoint, weights_only=True)
    payload["hyper_parameters"]["network"]["class_path"] = "os.system"
    torch.save(payload, tmp_path / "hostile.ckpt")
    with pytest.raises(UserError, match="'os.system' is not an architecture"):
        load_surrogate(tmp_path / "hostile.ckpt")
