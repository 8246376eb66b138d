"""The LightningModule: normalisation, training regimes, losses, evaluation rollouts."""

from __future__ import annotations

import math
from typing import Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_info

from ..data.normalisation import FieldNormaliser, symmetric_statistics
from ..errors import UserError
from ..models.base import Surrogate
from ..evaluation import metrics
from .losses import LOSSES
from .regimes import REGIMES, pushforward_random, rollout
from .schedule import warmup_cosine

# Rebuilds the network from the hyperparameters stored in a checkpoint (Lightning's own
# instantiator, which it allows for loading).
INSTANTIATOR = "lightning.pytorch.cli.instantiate_module"


def list_if_tuple(value):
    return list(value) if isinstance(value, tuple) else value


def network_config(network: Surrogate) -> dict:
    """``{class_path, init_args}`` of a network: what a checkpoint stores instead of the module."""
    cls = type(network)
    init_args = {k: list_if_tuple(v) for k, v in network.hparams.items()}
    return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": init_args}


class SurrogateModule(pl.LightningModule):
    """Trains a :class:`~pdesurrogate.models.Surrogate` autoregressively on normalised fields.

    Args:
        network: the architecture (its variables/history/future/conditioning are linked from
            the data by the CLI). Required; ``None`` exists for the CLI, where it means "the
            architecture of the checkpoint given with ``--ckpt_path``".
        loss: ``mse`` or ``relative_l2`` on normalised fields.
        regime: ``one_step`` (teacher forcing), ``unrolled`` (backpropagate through all steps of
            the training window) or ``pushforward`` (the window's first steps without gradient,
            then one with). The window's steps are the data's ``unroll_steps``.
        pushforward_steps: how many gradient-free steps ``pushforward`` takes in a window of
            ``s``: ``fixed`` (``s − 1``, as in Brandstetter et al. 2022) or ``random`` (drawn
            from ``0 … s − 1`` per batch, so the model also learns from true inputs, which every
            rollout starts from; see :func:`~pdesurrogate.training.regimes.pushforward_random`).
        input_noise: standard deviation of Gaussian noise added to the normalised input
            history during training (a cheap robustness to rollout drift; 0 disables).
        learning_rate: AdamW peak learning rate.
        weight_decay: AdamW decoupled weight decay.
        warmup_steps: optimiser steps of linear warm-up.
        final_learning_rate_fraction: cosine decay floor as a fraction of the peak.

    Validation logs ``val/one_step_<loss>`` (the training loss of one step, named by the loss) and
    ``val/rollout_rel_l2``, on which checkpoints are selected: the relative L2 error of the rollout
    over the data's scoring window (``data.score_from``, ``data.rollout_steps``), in physical units
    on deviations from the training mean, per frame and variable, averaged over frames and then
    variables (each variable also as ``val/rollout_rel_l2/<variable>``).
    """

    def __init__(
        self,
        network: Surrogate | None = None,
        loss: Literal["mse", "relative_l2"] = "mse",
        regime: Literal["one_step", "unrolled", "pushforward"] = "one_step",
        pushforward_steps: Literal["fixed", "random"] = "fixed",
        input_noise: float = 0.0,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 100,
        final_learning_rate_fraction: float = 1e-2,
    ):
        super().__init__()
        if network is None:
            raise UserError("model.network: no architecture named (pdesurrogate.models.FNO or "
                            "pdesurrogate.models.UNet)")
        # The checkpoint stores how to rebuild the network (its class and init arguments) and
        # Lightning's instantiator for it, never the module itself; the same whether the module was
        # built by the CLI or in Python.
        self.save_hyperparameters(ignore=["network"])
        self.save_hyperparameters({**self.hparams, "network": network_config(network), "_instantiator": INSTANTIATOR})
        if loss not in LOSSES or regime not in REGIMES:
            raise UserError(f"model.loss must be one of {list(LOSSES)} and model.regime one of {list(REGIMES)} "
                            f"(got {loss!r}, {regime!r})")
        if pushforward_steps not in ("fixed", "random"):
            raise UserError(f"model.pushforward_steps must be 'fixed' or 'random' (got {pushforward_steps!r})")
        for name, value, accepted, ok in (
            ("input_noise", input_noise, ">= 0", input_noise >= 0),
            ("learning_rate", learning_rate, "> 0", learning_rate > 0),
            ("weight_decay", weight_decay, ">= 0", weight_decay >= 0),
            ("warmup_steps", warmup_steps, "an integer >= 0", isinstance(warmup_steps, int) and warmup_steps >= 0),
            ("final_learning_rate_fraction", final_learning_rate_fraction, "in [0, 1]",
             0 <= final_learning_rate_fraction <= 1),
        ):
            if not (ok and math.isfinite(value)):
                raise UserError(f"model.{name} must be {accepted} (got {value!r})")
        self.network = network
        self.loss_fn, self.regime = LOSSES[loss], REGIMES[regime]
        if regime == "pushforward" and pushforward_steps == "random":
            self.regime = pushforward_random
        self.normaliser = FieldNormaliser(len(network.variables))
        network.use_normaliser(self.normaliser)  # a hybrid's solver steps physical fields

    # --- wiring to the data --------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is None:
            return
        self._check_matches(datamodule)
        # A model with physics (the hybrid's coarse solver) takes the dataset's, or refuses other
        # physics; what it took is stored with the network's settings in the checkpoint.
        if self.network.uses_physics:
            self.network.bind_dataset(datamodule.dataset_config, datamodule.hparams.time_stride,
                                      f"data.root: {datamodule.root}")
            self.hparams["network"] = network_config(self.network)
        # A fresh fit takes the data's statistics; a resumed or loaded model keeps its own
        # (the checkpoint is restored after setup and overwrites these buffers).
        if stage == "fit" or not bool(self.normaliser.fitted):
            stats = datamodule.stats
            if getattr(self.network, "equivariant", False):  # an equivariant network needs an equivariant normalisation
                stats = symmetric_statistics(stats)
            self.normaliser.set_statistics(stats, self.network.variables)

    def _check_matches(self, datamodule, trained: dict | None = None, source: str = "the model") -> None:
        """Refuse data that disagrees with the network's settings (``trained``: those stored in a
        checkpoint, default the network's own), naming the data field and both values."""
        net = self.network
        if trained is None:
            trained = {field: getattr(net, field) for field in ("variables", "history", "future", "conditioning",
                                                                "resolution")}
        for field in ("variables", "history", "future", "conditioning"):
            theirs, ours = getattr(datamodule, field, None), trained.get(field)
            if theirs is not None and ours is not None and list_if_tuple(theirs) != list_if_tuple(ours):
                raise UserError(f"data.{field} = {theirs} disagrees with {source}'s {field} = {ours}")
        resolution, trained_resolution = getattr(datamodule, "resolution", None), trained.get("resolution")
        if (not net.resolution_independent and None not in (resolution, trained_resolution)
                and resolution != trained_resolution):
            raise UserError(f"data.root: {getattr(datamodule, 'root', 'the dataset')} has data.resolution {resolution}, "
                            f"but {source}'s {type(net).__name__} was trained at resolution {trained_resolution} "
                            f"(only resolution-independent models such as the FNO can change grids)")

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # Called before the weights are loaded. The CLI builds the network for the data at hand, so
        # a checkpoint trained on other data (another grid, other variables) must be refused here,
        # by name, rather than by a state_dict shape error or — same shapes — not at all.
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        trained = checkpoint.get("hyper_parameters", {}).get("network", {}).get("init_args")
        if datamodule is not None and trained is not None:
            self._check_matches(datamodule, trained, source="the checkpoint")
            self.network.check_trained(trained)

    def on_fit_start(self) -> None:
        count = self.network.num_parameters
        rank_zero_info(f"{type(self.network).__name__}: {count:,} parameters")
        if self.logger is not None:
            self.logger.log_hyperparams({"parameters": count})

    def _evaluation_kind(self, stage: str, dataloader_idx: int) -> tuple[str, str]:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "evaluation_loaders"):
            return datamodule.evaluation_loaders(stage)[dataloader_idx]
        return str(dataloader_idx), ("one_step", "rollout")[dataloader_idx % 2]

    # --- steps ----------------------------------------------------------------------------------
    def _inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        parameters = batch["parameters"] if self.network.conditioning else None
        return self.normaliser.normalise(batch["history"]), parameters, self.normaliser.normalise(batch["target"])

    def forward(self, history: torch.Tensor, parameters: torch.Tensor | None = None) -> torch.Tensor:
        """One model step on normalised fields."""
        return self.network(history, parameters)

    def training_loss(self, batch: dict) -> torch.Tensor:
        history, parameters, target = self._inputs(batch)
        if self.hparams.input_noise > 0:
            history = history + self.hparams.input_noise * torch.randn_like(history)
        prediction, target = self.regime(self.network, history, parameters, target, self.network.future)
        return self.loss_fn(prediction, target)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.training_loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["history"].shape[0])
        return loss

    def rollout_physical(self, history: torch.Tensor, parameters: torch.Tensor | None, steps: int) -> torch.Tensor:
        """``steps`` model steps from true ``history`` frames, both in physical units: the model
        normalises with its own training statistics (they travel in its state_dict)."""
        parameters = parameters if self.network.conditioning else None
        return self.normaliser.denormalise(rollout(self.network, self.normaliser.normalise(history), parameters, steps))

    def predict_rollout(self, batch: dict) -> torch.Tensor:
        """Predicted frames in physical units over the batch's target window."""
        steps = batch["target"].shape[1] // self.network.future
        return self.rollout_physical(batch["history"], batch["parameters"], steps)

    def _evaluate(self, batch: dict, stage: str, dataloader_idx: int) -> None:
        split, kind = self._evaluation_kind("validate" if stage == "val" else stage, dataloader_idx)
        prefix = "val" if stage == "val" else f"test/{split}"
        size = batch["history"].shape[0]
        if kind == "one_step":
            history, parameters, target = self._inputs(batch)
            loss = self.loss_fn(self.network(history, parameters), target[:, : self.network.future])
            # The training loss, named by what it is: it differs between configs (mse, relative_l2).
            self.log(f"{prefix}/one_step_{self.hparams.loss}", loss, batch_size=size, add_dataloader_idx=False,
                     sync_dist=True)
        else:
            # The same number for every model: relative L2 per frame and variable, on deviations from
            # the training mean (shallow-water height: from the mean depth), averaged over frames,
            # then over variables, each variable also logged alone.
            mean = self.normaliser.mean[:, None, None]
            errors = metrics.relative_l2(self.predict_rollout(batch) - mean, batch["target"] - mean).mean(dim=(0, 1))
            for name, error in zip(self.network.variables, errors):
                self.log(f"{prefix}/rollout_rel_l2/{name}", error, batch_size=size, add_dataloader_idx=False,
                         sync_dist=True)
            self.log(f"{prefix}/rollout_rel_l2", errors.mean(), batch_size=size, add_dataloader_idx=False,
                     prog_bar=stage == "val", sync_dist=True)

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate(batch, "val", dataloader_idx)

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._evaluate(batch, "test", dataloader_idx)

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict:
        """The rollout over the batch's window, with the truth and the parameters (physical units)."""
        return {"prediction": self.predict_rollout(batch), "target": batch["target"],
                "parameters": batch["parameters"]}

    # --- optimisation ---------------------------------------------------------------------------
    def configure_optimizers(self):
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameters(), lr=hp.learning_rate, weight_decay=hp.weight_decay)
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total):
            # The cosine decay needs its end: an unbounded run (max_epochs -1 and no max_steps) has none.
            raise UserError("trainer.max_epochs: the learning-rate schedule decays over the whole run and needs "
                            f"it bounded: set trainer.max_epochs >= 1 or trainer.max_steps >= 1 "
                            f"(got max_epochs {self.trainer.max_epochs}, max_steps {self.trainer.max_steps})")
        total = int(total)
        warmup = min(hp.warmup_steps, max(total - 1, 0))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, warmup, total, hp.final_learning_rate_fraction)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
