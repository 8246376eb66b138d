"""The LightningDataModule over one dataset directory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader

from data_gen.symmetry import SymmetryError

from ..errors import UserError
from .augmentation import AUGMENTATIONS, SymmetryAugmented, sample_groups
from .directory import DatasetReader, SplitInfo
from .sampling import EpochShuffle
from .windows import TrajectoryWindows


class PDEDataModule(pl.LightningDataModule):
    """Training windows, one-step and rollout evaluation windows from ``pdesurrogate generate`` output.

    A training item holds ``history`` input frames and ``future · unroll_steps`` target frames
    (the unrolled and pushforward regimes need more than one model step); evaluation also cuts
    one window per trajectory of ``future · rollout_steps`` frames from ``t = 0`` for rollouts.
    Fields are returned in physical units with the per-sample ``conditioning`` parameters; the
    ``stats.json`` normalisation is applied by the model (see :attr:`stats`), so a trained model
    keeps its own statistics whatever it is evaluated on.

    :attr:`resolution` is the grid size of the dataset (read from its train split, never set in a
    config): ``n`` on a square grid, ``[ny, nx]`` otherwise; the CLI hands it to the network,
    which checks that its architecture fits the grid.

    Args:
        root: the dataset directory.
        variables: fields to use, in channel order (e.g. ``[vorticity]``, ``[height, u, v]``).
        history: input frames ``k``.
        future: frames predicted per model step ``m``.
        unroll_steps: model steps per training window (``> 1`` for unrolled/pushforward training).
        rollout_steps: evaluation rollout horizon, in model steps.
        score_from: the first scored saved frame of evaluation rollouts (default: ``history``). The
            model receives its ``history`` true frames before it; set the same value for models of
            different histories to score them on the same frames.
        time_stride: saved frames between consecutive model frames.
        window_stride: saved frames between the starts of consecutive training windows.
        conditioning: per-sample parameters handed to the model (``viscosity``, …).
        train_split / val_split / test_splits / predict_split: split names from the manifest.
        batch_size: training batch size; ``eval_batch_size`` for evaluation (default: the same).
        num_workers: DataLoader worker processes (each opens its own file handles).
        seed: seed of the epoch-wise shuffling.
        extra_train_roots: further dataset directories whose ``train_split`` is appended to the
            training trajectories (active learning adds each round's simulations this way); the
            normalisation stays ``root``'s, and each must match its grid, frames and variables.
        train_samples: train on the first that many trajectories of the train split only (``None``: all).
        augmentation: move each training window by a random lattice map: ``none``, ``declared``
            (the dataset's declared symmetry group, with the sign rule of each variable: exact), or
            the negative controls ``unsigned`` (the same maps without the sign rule) and ``lattice``
            (all 8 rotations/reflections and shifts, ignoring the forcing); see
            :mod:`pdesurrogate.data.augmentation`.
    """

    def __init__(
        self,
        root: str,
        variables: list[str],
        history: int = 1,
        future: int = 1,
        unroll_steps: int = 1,
        rollout_steps: int = 8,
        score_from: int | None = None,
        time_stride: int = 1,
        window_stride: int = 1,
        conditioning: list[str] = [],
        train_split: str = "train",
        val_split: str = "val",
        test_splits: list[str] = ["test_id", "test_ood"],
        predict_split: str = "test_ood",
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int = 0,
        extra_train_roots: list[str] = [],
        train_samples: int | None = None,
        augmentation: str = "none",
    ):
        super().__init__()
        self.save_hyperparameters()
        for name in ("history", "future", "unroll_steps", "rollout_steps", "time_stride", "window_stride", "batch_size"):
            value = getattr(self.hparams, name)
            if not (isinstance(value, int) and value >= 1):
                raise UserError(f"data.{name} must be an integer >= 1 (got {value!r})")
        context = history * time_stride  # saved frames the model's history spans
        if score_from is not None and not (isinstance(score_from, int) and score_from >= context):
            raise UserError(f"data.score_from must be an integer >= {context} (data.history × data.time_stride): the "
                            f"model needs {history} true frames before the first scored one (got {score_from!r})")
        self.score_from = context if score_from is None else score_from
        if not (isinstance(num_workers, int) and num_workers >= 0):
            raise UserError(f"data.num_workers must be an integer >= 0 (0: load in the main process; got {num_workers!r})")
        if eval_batch_size is not None and not (isinstance(eval_batch_size, int) and eval_batch_size >= 1):
            raise UserError(f"data.eval_batch_size must be an integer >= 1 or null (got {eval_batch_size!r})")
        self.root = Path(root)
        self.variables, self.conditioning = list(variables), list(conditioning)
        self.history, self.future = history, future
        self.reader = DatasetReader(root)
        for field, names in (("train_split", [train_split]), ("val_split", [val_split]),
                             ("test_splits", test_splits), ("predict_split", [predict_split])):
            for name in names:
                self.reader.require_split(name, field)
        train = self.reader.split(train_split, "train_split")
        self.resolution: int | list[int] | None = None  # evaluation splits are checked against the train split's
        self._check_contents(train)
        ny, nx = train.resolution
        self.resolution = ny if ny == nx else [ny, nx]
        self.stats  # fail now, not after the first epoch, if stats.json lacks a variable
        self.train = self._with_extra_trajectories(train, list(extra_train_roots))
        if train_samples is not None and not (isinstance(train_samples, int) and 1 <= train_samples <= self.train.samples):
            raise UserError(f"data.train_samples must be an integer in [1, {self.train.samples}] (the trajectories of "
                            f"split {train_split!r}) or null (got {train_samples!r})")
        if augmentation not in AUGMENTATIONS:
            raise UserError(f"data.augmentation must be one of {', '.join(AUGMENTATIONS)} (got {augmentation!r})")
        self.group_of_sample = None
        if augmentation != "none":
            try:
                self.group_of_sample = sample_groups(self.reader.manifest, self.train.parameters, self.resolution)
                self.group_of_sample(0)
            except SymmetryError as error:
                raise UserError(f"data.augmentation: {self.root}: {error}") from None
            if self.group_of_sample(0).n != self.resolution:
                raise UserError(f"data.augmentation: the symmetry group in {self.root}/manifest.json is for a "
                                f"{self.group_of_sample(0).n}² grid, the data are {self.resolution}²")

    def _with_extra_trajectories(self, train: SplitInfo, roots: list[str]) -> SplitInfo:
        """The train split with the train splits of ``roots`` appended (shards are read by path)."""
        shards, parameters = list(train.shards), {k: [v] for k, v in train.parameters.items()}
        for i, root in enumerate(roots):
            extra = DatasetReader(root).split(self.hparams.train_split, f"extra_train_roots[{i}]")
            self._check_contents(extra)
            if extra.frames != train.frames or extra.variables != train.variables or set(extra.parameters) != set(parameters):
                raise UserError(f"data.extra_train_roots[{i}]: split {extra.name!r} of {root} holds other frames, "
                                f"variables or parameters than {self.root}: it is not the same kind of dataset")
            shards += extra.shards
            for key, values in extra.parameters.items():
                parameters[key].append(values)
        return replace(train, shards=tuple(shards), parameters={k: np.concatenate(v) for k, v in parameters.items()})

    def _check_contents(self, split: SplitInfo) -> None:
        hp = self.hparams
        missing = [v for v in self.variables if v not in split.variables]
        if missing or not self.variables:
            raise UserError(f"data.variables: {missing or '[]'} not in split {split.name!r} of {self.root} "
                            f"(available: {', '.join(split.variables)})")
        missing = [p for p in self.conditioning if p not in split.parameters]
        if missing:
            raise UserError(f"data.conditioning: {missing} not per-sample parameters of {self.root} "
                            f"(available: {', '.join(p for p in split.parameters if p != 'seed')})")
        ny, nx = split.resolution
        if self.resolution is not None and (ny if ny == nx else [ny, nx]) != self.resolution:
            raise UserError(f"data.root: split {split.name!r} of {self.root} has resolution {ny}×{nx}, but the "
                            f"train split has {self.resolution}")
        for field, steps, first in (("unroll_steps", hp.unroll_steps, 0),
                                    ("rollout_steps", hp.rollout_steps, self.rollout_start)):
            needed = first + (hp.history + hp.future * steps - 1) * hp.time_stride + 1
            if needed > split.frames:
                raise UserError(f"data.{field}: history {hp.history} + future {hp.future} × {steps} steps at "
                                f"time_stride {hp.time_stride} needs {needed} frames; split {split.name!r} "
                                f"has {split.frames}")

    @property
    def rollout_start(self) -> int:
        """The first saved frame of an evaluation rollout's context: ``history`` frames before ``score_from``."""
        return self.score_from - self.hparams.history * self.hparams.time_stride

    @property
    def dataset_config(self):
        """The dataset's generation config, or ``None`` (imported data): the physics a hybrid's
        coarse solver runs (parsed once)."""
        if not hasattr(self, "_dataset_config"):
            self._dataset_config = self.reader.dataset_config()
        return self._dataset_config

    @property
    def stats(self) -> dict[str, tuple[float, float]]:
        stats = self.reader.stats()
        missing = [v for v in self.variables if v not in stats]
        if missing:
            raise UserError(f"data.variables: {missing} have no entry in {self.root}/stats.json")
        return {v: stats[v] for v in self.variables}

    # --- datasets ----------------------------------------------------------------------------
    def windows(self, split: str, steps: int, first_only: bool = False, field: str = "split") -> TrajectoryWindows:
        """Windows of ``history + future·steps`` frames from ``split``."""
        info = self.reader.split(split, field)
        self._check_contents(info)
        hp = self.hparams
        return TrajectoryWindows(info, self.variables, self.conditioning, hp.history, hp.future * steps,
                                 hp.time_stride, 1 if first_only else hp.window_stride, first_only,
                                 first_start=self.rollout_start if first_only else 0)

    def evaluation_loaders(self, stage: str) -> list[tuple[str, str]]:
        """``(split, kind)`` of each evaluation dataloader, in order; kind is ``one_step`` or ``rollout``."""
        hp = self.hparams
        splits = {"validate": [hp.val_split], "test": list(hp.test_splits), "predict": [hp.predict_split]}[stage]
        kinds = ["rollout"] if stage == "predict" else ["one_step", "rollout"]
        return [(split, kind) for split in splits for kind in kinds]

    def _loader(self, dataset, batch_size: int, sampler=None) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())

    def _evaluation(self, stage: str) -> list[DataLoader]:
        hp = self.hparams
        size = hp.eval_batch_size or hp.batch_size
        loaders = []
        field = {"validate": "val_split", "test": "test_splits", "predict": "predict_split"}[stage]
        for split, kind in self.evaluation_loaders(stage):
            if kind == "rollout":
                loaders.append(self._loader(self.windows(split, hp.rollout_steps, first_only=True, field=field), size))
            else:
                loaders.append(self._loader(self.windows(split, 1, field=field), size))
        return loaders

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        dataset = TrajectoryWindows(self.train, self.variables, self.conditioning, hp.history, hp.future * hp.unroll_steps,
                                    hp.time_stride, hp.window_stride, samples=hp.train_samples)
        if hp.augmentation != "none":
            dataset = SymmetryAugmented(dataset, self.variables, hp.augmentation, self.group_of_sample, self.resolution)
        return self._loader(dataset, self.hparams.batch_size, EpochShuffle(len(dataset), self.hparams.seed))

    def val_dataloader(self) -> list[DataLoader]:
        return self._evaluation("validate")

    def test_dataloader(self) -> list[DataLoader]:
        return self._evaluation("test")

    def predict_dataloader(self) -> list[DataLoader]:
        return self._evaluation("predict")
