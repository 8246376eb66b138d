"""Writes the rollouts of ``pdesurrogate predict`` as the evaluation contract's predictions file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.utilities import rank_zero_info

from ..evaluation.predictions import write_predictions
from ..evaluation.scoring import ScoringWindow


class RolloutWriter(BasePredictionWriter):
    """After prediction, ``<output_dir>/<split>.nc`` (``<split>-rankN.nc`` per rank of a multi-process
    run) holds the predicted fields of each sample of the predict split, in physical units, at the
    dataset's physical times, with the sample's index in the split and its per-sample parameters
    (see :mod:`pdesurrogate.evaluation.predictions`). Its window is the data module's:
    ``score_from`` (default ``history``) and ``horizon = future · rollout_steps``."""

    def __init__(self, output_dir: str | Path):
        super().__init__(write_interval="epoch")
        self.output_dir = Path(output_dir)

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        if predictions and isinstance(predictions[0], list):  # nested per dataloader
            predictions = [p for loader in predictions for p in loader]
        while batch_indices and isinstance(batch_indices[0], list) and batch_indices[0] \
                and isinstance(batch_indices[0][0], list):  # likewise, even with one dataloader
            batch_indices = [b for loader in batch_indices for b in loader]
        if not predictions:
            return
        datamodule = trainer.datamodule
        if datamodule.hparams.time_stride != 1:
            raise NotImplementedError("predict writes saved frames; time_stride > 1 is not supported yet")
        prediction = torch.cat([p["prediction"] for p in predictions]).float().cpu().numpy()
        # first-window datasets: the dataset index of an item is its sample's index in the split
        samples = np.concatenate([np.asarray(b, dtype=np.int64) for b in batch_indices])
        network = pl_module.network
        split_name = datamodule.hparams.predict_split
        window = ScoringWindow(datamodule.score_from, prediction.shape[1])
        suffix = f"-rank{trainer.global_rank}" if trainer.world_size > 1 else ""
        path = write_predictions(self.output_dir / f"{split_name}{suffix}.nc", prediction,
                                 datamodule.reader.split(split_name), samples, network.variables, window,
                                 type(network).__name__, str(trainer.ckpt_path or ""))
        rank_zero_info(f"predict: wrote {len(samples)} rollouts of split {split_name!r} to {path}")
