"""Writes the rollouts of ``pdesurrogate predict`` to netCDF, beside the true trajectories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr
from lightning.pytorch.callbacks import BasePredictionWriter


class RolloutWriter(BasePredictionWriter):
    """After prediction, ``<output_dir>/predictions[-rankN].nc`` holds, per variable, the predicted
    ``<variable>`` and true ``<variable>_true`` fields ``(sample, time, y, x)`` in physical units,
    and the per-sample conditioning parameters (``time`` counts model output frames)."""

    def __init__(self, output_dir: str | Path):
        super().__init__(write_interval="epoch")
        self.output_dir = Path(output_dir)

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        if predictions and isinstance(predictions[0], list):  # several dataloaders
            predictions = [p for loader in predictions for p in loader]
        if not predictions:
            return
        joined = {key: torch.cat([p[key] for p in predictions]).float().cpu().numpy() for key in predictions[0]}
        network = pl_module.network
        fields = {}
        for c, name in enumerate(network.variables):
            fields[name] = (("sample", "time", "y", "x"), joined["prediction"][:, :, c])
            fields[f"{name}_true"] = (("sample", "time", "y", "x"), joined["target"][:, :, c])
        for p, name in enumerate(network.conditioning):
            fields[name] = (("sample",), joined["parameters"][:, p])
        dataset = xr.Dataset(fields, coords={"time": np.arange(1, joined["prediction"].shape[1] + 1)},
                             attrs={"Conventions": "CF-1.10", "title": "surrogate rollouts",
                                    "model": type(network).__name__, "history_frames": network.history})
        self.output_dir.mkdir(parents=True, exist_ok=True)
        suffix = f"-rank{trainer.global_rank}" if trainer.world_size > 1 else ""
        dataset.to_netcdf(self.output_dir / f"predictions{suffix}.nc")
