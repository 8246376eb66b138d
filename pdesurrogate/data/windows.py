"""Windows of consecutive frames cut from the trajectories of one split, read lazily."""

from __future__ import annotations

import os
from collections.abc import Sequence

import netCDF4
import numpy as np
import torch
from torch.utils.data import Dataset

from .directory import SplitInfo


class TrajectoryWindows(Dataset):
    """Every window ``(history, target)`` of ``history + target_frames`` frames, ``time_stride`` apart.

    Window starts are ``first_start, first_start + window_stride, …`` in each trajectory
    (``first_only``: just ``first_start``, for rollouts over the whole horizon). Items are dicts of float32 tensors in
    physical units: ``history (k, C, y, x)``, ``target (n, C, y, x)`` and ``parameters (P,)``.
    ``samples``: use only the split's first that many trajectories (training-set size studies).

    File handles are opened on first use in each process (a DataLoader worker never inherits
    one from its parent: HDF5 handles do not survive a fork), and only the window is read.
    """

    def __init__(self, split: SplitInfo, variables: Sequence[str], conditioning: Sequence[str], history: int,
                 target_frames: int, time_stride: int = 1, window_stride: int = 1, first_only: bool = False,
                 first_start: int = 0, samples: int | None = None):
        self.split, self.variables = split, list(variables)
        self.samples = split.samples if samples is None else min(samples, split.samples)
        self.history, self.target_frames, self.time_stride = history, target_frames, time_stride
        span = (history + target_frames - 1) * time_stride + 1
        self.starts = np.arange(first_start, split.frames - span + 1, window_stride)[: 1 if first_only else None]
        self.parameters = np.stack([split.parameters[name] for name in conditioning], axis=-1).astype(np.float32) \
            if conditioning else np.zeros((split.samples, 0), np.float32)
        self.sample_offsets = np.cumsum([0] + [s.samples for s in split.shards])
        self._handles: dict[int, netCDF4.Dataset] = {}
        self._pid = None

    @property
    def windows_per_sample(self) -> int:
        return len(self.starts)

    def __len__(self) -> int:
        return self.samples * self.windows_per_sample

    def _handle(self, shard: int) -> netCDF4.Dataset:
        if self._pid != os.getpid():
            self._handles, self._pid = {}, os.getpid()
        if shard not in self._handles:
            handle = netCDF4.Dataset(self.split.shards[shard].path)
            handle.set_auto_mask(False)
            self._handles[shard] = handle
        return self._handles[shard]

    def __getstate__(self):
        # Pickled into spawned workers: send the layout, not open files.
        return {**self.__dict__, "_handles": {}, "_pid": None}

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        sample, window = divmod(index, self.windows_per_sample)
        shard = int(np.searchsorted(self.sample_offsets, sample, side="right") - 1)
        local = sample - self.sample_offsets[shard]
        start = int(self.starts[window])
        stop = start + (self.history + self.target_frames - 1) * self.time_stride + 1
        nc = self._handle(shard)
        frames = np.stack([nc.variables[v][local, start:stop:self.time_stride] for v in self.variables], axis=1)
        frames = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
        return {
            "history": frames[: self.history],
            "target": frames[self.history :],
            "parameters": torch.from_numpy(self.parameters[sample]),
        }
