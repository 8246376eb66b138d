"""Shuffling that depends only on ``(seed, epoch)``."""

from __future__ import annotations

import torch
from torch.utils.data import Sampler


class EpochShuffle(Sampler[int]):
    """A permutation drawn from ``(seed, epoch)``; Lightning calls :meth:`set_epoch` each epoch.

    Unlike a sampler with a running generator, a run resumed from a checkpoint at an epoch
    boundary sees exactly the batches the uninterrupted run would have seen.
    """

    def __init__(self, size: int, seed: int = 0):
        self.size, self.seed, self.epoch = size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator).tolist())
