"""One training run at a fixed budget into a directory of its own, through the Lightning CLI.

The benchmark, inverse design and the quickstart train models the way a user does
(``pdesurrogate fit --config ...``), with the run's folders, seed and budget set on the command line,
so a model trained by any of them is a model the user could have trained by hand.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .checkpointing import resolve_checkpoint
from .cli import run_lightning
from .device import local_gpu, without_torchrun_environment


def budget_arguments(epochs: int, minutes: float | None) -> list[str]:
    """``--trainer.max_epochs`` and, for a wall-clock cap, ``--trainer.max_time DD:HH:MM:SS``."""
    arguments = ["--trainer.max_epochs", str(epochs)]
    if minutes is not None:
        total = int(minutes * 60)
        arguments += ["--trainer.max_time", f"00:{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"]
    return arguments


def fit_arguments(config: Path, data_root: Path, directory: Path, *, seed: int, epochs: int,
                  minutes: float | None, val_split: str = "val", progress: bool = True,
                  overrides: tuple[str, ...] = ()) -> list[str]:
    """The ``pdesurrogate fit`` arguments that train ``config`` on ``data_root`` into ``directory``
    (logs/, checkpoints/ with the checkpoint selected on ``val_split``)."""
    arguments = [
        "fit", "--config", str(config), "--data.root", str(data_root),
        "--data.val_split", val_split, "--data.test_splits", "[]", "--data.predict_split", val_split,
        "--seed_everything", str(seed), "--data.seed", str(seed),
        "--trainer.default_root_dir", str(directory),
        "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
        "--trainer.logger.init_args.save_dir", str(directory), "--trainer.logger.init_args.name", "logs",
        "--checkpoint.dirpath", str(directory / "checkpoints"),
        "--trainer.enable_progress_bar", str(progress).lower(),
        *budget_arguments(epochs, minutes),
    ]
    if "LOCAL_RANK" in os.environ and local_gpu() is not None:
        # torchrun ranks on one node: each trains on its own GPU
        arguments += ["--trainer.devices", f"[{local_gpu()}]"]
    return arguments + list(overrides)


def train_run(arguments: list[str], directory: Path) -> tuple[Path, float]:
    """Run one ``pdesurrogate fit`` into a fresh ``directory`` and return the checkpoint selected on
    the validation split and the fit's wall time.

    Whatever a killed earlier fit left in ``directory`` is removed first: checkpoints of two fits in
    one folder would make the selected one ambiguous (or, worse, the old one's). Callers mark a run
    finished only after this returns, so a directory without their marker is always safe to wipe.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    start = time.perf_counter()
    with without_torchrun_environment():
        run_lightning(arguments)
    return resolve_checkpoint("best", [directory / "checkpoints"]), time.perf_counter() - start
