"""Per-variable standardisation with the training split's statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn


class FieldNormaliser(nn.Module):
    """``(f − mean_c) / std_c`` for fields ``(…, variable, y, x)``.

    The statistics are buffers, so they travel in the model's state_dict: a checkpoint keeps
    normalising with the statistics it was trained with, whatever dataset it is evaluated on.
    """

    def __init__(self, variables: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(variables))
        self.register_buffer("std", torch.ones(variables))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def set_statistics(self, stats: Mapping[str, tuple[float, float]], variables: Sequence[str]) -> None:
        self.mean.copy_(torch.tensor([stats[v][0] for v in variables]))
        self.std.copy_(torch.tensor([stats[v][1] for v in variables]).clamp_min(1e-12))
        self.fitted.fill_(True)

    def _shape(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mean[:, None, None].to(t.dtype), self.std[:, None, None].to(t.dtype)

    def normalise(self, fields: torch.Tensor) -> torch.Tensor:
        mean, std = self._shape(fields)
        return (fields - mean) / std

    def denormalise(self, fields: torch.Tensor) -> torch.Tensor:
        mean, std = self._shape(fields)
        return fields * std + mean
