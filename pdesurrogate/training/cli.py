"""The Lightning CLI over our model and data, behind ``pdesurrogate fit|validate|test|predict`` and
every workflow that trains (through :func:`~pdesurrogate.training.run.train_run`).

Data settings are linked into the network's, so a config states variables, history, future and
conditioning once (under ``data:``) and can never disagree with the model. The grid size is not a
setting at all: the DataModule reads it from the dataset, and it is handed to the network once the
DataModule exists, so the architecture's checks (U-Net divisibility, FNO modes) run on the real grid.

A checkpoint (``--ckpt_path``) is an untrusted file: it is read by
:func:`~pdesurrogate.training.checkpoint.read_checkpoint` before jsonargparse sees any class it names,
and it never overrides the user's settings. When the user names no model (no ``model:`` section, or
``--model.network null``) the checkpoint's model is used, and the log says so; when they do, any
setting that differs from the checkpoint's is refused by name.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

from jsonargparse import ArgumentError, Namespace
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities import rank_zero_info

from data_gen.paths import read_yaml

from ..data import PDEDataModule
from ..errors import UserError
from ..models.base import ArchitectureError
from .module import SurrogateModule
from .checkpoint import (ENTRY_POINT_GROUP, allowed_network, class_paths, read_checkpoint,
                                   registered_networks, same_network)
from .checkpointing import SelectedCheckpoint, resolve_checkpoint
from .prediction_writer import RolloutWriter

LINKED_FIELDS = ("variables", "history", "future", "conditioning")
# Set by the CLI from the data, never by the user: not compared with a checkpoint's (the data
# module checks them against the checkpoint by name, see SurrogateModule._check_matches).
DATA_LINKED = (*LINKED_FIELDS, "resolution")

# Class paths a config file may name: this package, Lightning's own loggers, callbacks, strategies
# and plugins, and torch's optimisers; plus architectures registered by installed packages.
CONFIG_CLASS_PREFIXES = ("pdesurrogate.", "lightning.pytorch.", "lightning.fabric.", "torch.optim.")


def config_key(field: str) -> str:
    """The config key a user changes to fix the network argument ``field``."""
    if field in LINKED_FIELDS:
        return f"data.{field}"
    if field == "resolution":
        return "data.resolution (the grid of the dataset in data.root)"
    return f"model.network.init_args.{field}"


def check_config_file(path: str | Path, option: str = "--config"):
    """The parsed config file at ``path``, refused if it names a class outside
    :data:`CONFIG_CLASS_PREFIXES`: read before jsonargparse, which imports a class path's module
    before it checks its type."""
    _, content = read_yaml(path, option, "configs/fit/ns_fno_small.yaml")
    for key, class_path in class_paths(content, names=("class_path",)):
        if isinstance(class_path, str) and "." not in class_path:
            continue  # a short name resolves among classes already imported, importing nothing
        if isinstance(class_path, str) and (class_path.startswith(CONFIG_CLASS_PREFIXES)
                                            or class_path in registered_networks()):
            continue
        raise UserError(f"{key} in {path}: {class_path!r} is outside what a config may name "
                        f"({', '.join(p + '*' for p in CONFIG_CLASS_PREFIXES)}, or an architecture registered "
                        f"under the {ENTRY_POINT_GROUP!r} entry-point group); nothing was imported")
    return content


def check_config_files(argv: list[str]) -> None:
    """:func:`check_config_file` on every ``--config`` of a command line."""
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            check_config_file(argv[i + 1])
        elif arg.startswith("--config="):
            check_config_file(arg.partition("=")[2])


def _plain(value):
    """Config values in comparable form: Namespaces as dicts, tuples as lists."""
    if isinstance(value, Namespace):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _differs(asked, stored) -> bool:
    if isinstance(asked, float) or isinstance(stored, float):
        try:
            return not math.isclose(float(asked), float(stored), rel_tol=1e-12, abs_tol=0.0)
        except (TypeError, ValueError):
            return True
    return asked != stored


def model_differences(asked: dict, stored: dict) -> list[str]:
    """``key: asked vs stored`` for each model setting the user's config and a checkpoint disagree on
    (settings linked from the data are left to the data checks)."""
    differences = []
    asked_net, stored_net = asked.get("network") or {}, stored["network"]
    if not same_network(str(asked_net.get("class_path")), stored_net["class_path"]):
        return [f"model.network.class_path: {asked_net.get('class_path')} vs {stored_net['class_path']}"]
    asked_args = asked_net.get("init_args") or {}
    for name, value in stored_net["init_args"].items():
        if name not in DATA_LINKED and name in asked_args and _differs(_plain(asked_args[name]), _plain(value)):
            differences.append(f"model.network.init_args.{name}: {asked_args[name]!r} vs {value!r}")
    for name, value in stored.items():
        if name not in ("network", "_instantiator", "_class_path") and name in asked and _differs(asked[name], value):
            differences.append(f"model.{name}: {asked[name]!r} vs {value!r}")
    return differences


class SurrogateCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        for field in LINKED_FIELDS:
            parser.link_arguments(f"data.{field}", f"model.network.init_args.{field}")
        # The PDEDataModule attribute `resolution`, read from the dataset when it is instantiated.
        parser.link_arguments("data.resolution", "model.network.init_args.resolution", apply_on="instantiate")
        # Checkpoints are selected on the validation rollout error, the quantity a surrogate is
        # used for; `last.ckpt` (the last epoch) is what `--ckpt_path last` resumes from. Without
        # checkpoint.dirpath they go to the logger's version folder, beside the run's logs.
        parser.add_lightning_class_args(SelectedCheckpoint, "checkpoint")
        parser.set_defaults({
            "checkpoint.monitor": "val/rollout_rel_l2",
            "checkpoint.mode": "min",
            "checkpoint.save_last": True,
            "checkpoint.filename": "best-epoch{epoch:03d}",
            "checkpoint.auto_insert_metric_name": False,
        })

    def parse_arguments(self, parser, args) -> None:
        # Lightning's own version warns whenever `args` is given while sys.argv is not empty, which
        # is every run of our entry point (it hands LightningCLI its own argv).
        check_config_files(list(args))
        try:
            self.config = parser.parse_args(args)
        except ArgumentError as error:
            raise UserError(" ".join(str(error).split())) from None

    def _parse_ckpt_path(self) -> None:
        """Read ``--ckpt_path`` safely and reconcile its model with the one the user asked for (see
        the module docstring); replaces Lightning's silent merge of the checkpoint over ``model:``."""
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return
        config = self.config[subcommand]
        asked = _plain(config.get("model")) or {}
        path = config.get("ckpt_path")
        if path in ("best", "last"):
            path = str(resolve_checkpoint(path, self._fit_directories(config)))
            rank_zero_info(f"ckpt_path: using {path}")
            config.ckpt_path = path
        if not path:
            if asked.get("network") is None:
                raise UserError("model.network: no architecture named (set model.network.class_path to "
                                "pdesurrogate.models.FNO or pdesurrogate.models.UNet), and no --ckpt_path to take "
                                "one from")
            allowed_network(asked["network"].get("class_path"), "model.network.class_path")
            return
        stored = dict(read_checkpoint(path)["hyper_parameters"])
        for key in ("_instantiator", "_class_path"):  # Lightning's bookkeeping, not settings
            stored.pop(key, None)
        if asked.get("network") is None:
            network = stored["network"]
            settings = ", ".join(f"{k}={v}" for k, v in network["init_args"].items() if k not in DATA_LINKED)
            rank_zero_info(f"model: using the checkpoint's {network['class_path']} ({settings}) and training "
                           f"settings from {path}")
            # Every class path in `stored` was checked by read_checkpoint: parsing imports only those.
            self.config = self.parser.parse_object({subcommand: {"model": stored}}, self.config)
            return
        allowed_network(asked["network"].get("class_path"), "model.network.class_path")
        differences = model_differences(asked, stored)
        if differences:
            raise UserError(f"ckpt_path: {path} disagrees with the model you asked for (yours vs the "
                            f"checkpoint's): {'; '.join(differences)}. Ask for the checkpoint's settings, or "
                            "name no model (--model.network null) to use them")

    @staticmethod
    def _fit_directories(config) -> list[Path]:
        """Where the fit of this config put its checkpoints: checkpoint.dirpath if set, else its
        logger's folder (``<save_dir>/<name>``), else ``<default_root_dir>/lightning_logs``."""
        places = []
        if config.get("checkpoint.dirpath"):
            places.append(Path(config["checkpoint.dirpath"]))
        logger = config.get("trainer.logger")
        init_args = getattr(logger, "init_args", None)
        if init_args is not None and init_args.get("save_dir"):
            name = init_args.get("name", "lightning_logs")
            places.append(Path(init_args["save_dir"]) / (name if name is not None else ""))
        places.append(Path(config.get("trainer.default_root_dir") or ".") / "lightning_logs")
        return places

    def _drop_checkpointing(self) -> None:
        # Evaluation saves nothing: restoring the callback's state from a checkpoint written in
        # another folder would only warn that its dirpath changed (and removing the callback, that
        # it is missing).
        for callback in self.trainer.callbacks:
            if isinstance(callback, SelectedCheckpoint):
                callback.restore_state = False

    def before_validate(self) -> None:
        self._drop_checkpointing()

    def before_test(self) -> None:
        self._drop_checkpointing()

    def before_predict(self) -> None:
        self._drop_checkpointing()
        # `predict` writes its rollouts next to the run's other outputs.
        self.trainer.callbacks.append(RolloutWriter(Path(self.trainer.default_root_dir) / "predictions"))

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ArchitectureError, ValueError) as error:
            # The architecture names its own argument; say which config key sets it. (jsonargparse
            # re-raises it as a ValueError of the Optional[Surrogate] union: look down the chain.)
            cause = error
            while cause is not None and not isinstance(cause, ArchitectureError):
                cause = cause.__cause__ or cause.__context__
            if cause is None:
                raise
            raise UserError(f"{config_key(cause.field)} {cause.message}") from error
        except MisconfigurationException as error:
            # Lightning's refusal of trainer settings this machine cannot honour (an absent
            # accelerator, too many devices): the user acts on the trainer section.
            raise UserError(f"trainer: {' '.join(str(error).split())}") from None


class _NoAdvertisement(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip: For seamless cloud logging" not in record.getMessage()


def run_lightning(argv: list[str]) -> int:
    # Lightning 2.6 calls a torch.utils._pytree API that torch 2.13 deprecates, on every run: a
    # mismatch between the two libraries that users can do nothing about.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=DeprecationWarning)
    rank_zero_log = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoAdvertisement) for f in rank_zero_log.filters):
        rank_zero_log.addFilter(_NoAdvertisement())
    subcommand_kwargs = {"exit_on_error": False}
    SurrogateCLI(
        SurrogateModule,
        PDEDataModule,
        args=argv,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"default_env": False, "exit_on_error": False,
                       **{name: dict(subcommand_kwargs) for name in LightningCLI.subcommands()}},
    )
    return 0
