"""``pdesurrogate fit|validate|test|predict``: the Lightning CLI over our model and data.

Data settings are linked into the network's, so a config states variables, history, future and
conditioning once (under ``data:``) and can never disagree with the model. The grid size is not a
setting at all: the DataModule reads it from the dataset, and it is handed to the network once the
DataModule exists, so the architecture's checks (U-Net divisibility, FNO modes) run on the real grid.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI

from ..data import PDEDataModule
from ..errors import UserError
from ..models.base import ArchitectureError
from ..training import SurrogateModule
from ..training.prediction_writer import RolloutWriter

LINKED_FIELDS = ("variables", "history", "future", "conditioning")


def config_key(field: str) -> str:
    """The config key a user changes to fix the network argument ``field``."""
    if field in LINKED_FIELDS:
        return f"data.{field}"
    if field == "resolution":
        return "data.resolution (the grid of the dataset in data.root)"
    return f"model.network.init_args.{field}"


class SurrogateCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        for field in LINKED_FIELDS:
            parser.link_arguments(f"data.{field}", f"model.network.init_args.{field}")
        # The PDEDataModule attribute `resolution`, read from the dataset when it is instantiated.
        parser.link_arguments("data.resolution", "model.network.init_args.resolution", apply_on="instantiate")
        # Checkpoints are selected on the validation rollout error, the quantity a surrogate is
        # used for; `last.ckpt` is what `--ckpt_path` resumes from.
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({
            "checkpoint.monitor": "val/rollout_rel_l2",
            "checkpoint.mode": "min",
            "checkpoint.save_last": True,
            "checkpoint.filename": "best-epoch{epoch:03d}",
            "checkpoint.auto_insert_metric_name": False,
        })

    def before_predict(self) -> None:
        # `predict` writes its rollouts next to the run's other outputs.
        self.trainer.callbacks.append(RolloutWriter(Path(self.trainer.default_root_dir) / "predictions"))

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ArchitectureError as error:
            # The architecture names its own argument; say which config key sets it.
            raise UserError(f"{config_key(error.field)} {error.message}") from error


def run_lightning(argv: list[str]) -> int:
    SurrogateCLI(
        SurrogateModule,
        PDEDataModule,
        args=argv,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"default_env": False},
    )
    return 0
