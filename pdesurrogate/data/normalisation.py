"""Per-variable standardisation with the training split's statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from data_gen.symmetry.lattice import PSEUDOSCALARS, VECTOR_COMPONENTS


def symmetric_statistics(stats: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Statistics whose standardisation commutes with every lattice map: no mean shift for
    pseudo-scalars (a reflection flips their sign, not their offset) and velocity components, and
    one scale for u and v (a 90° rotation or a swap turns one into the other)."""
    out = dict(stats)
    for name in PSEUDOSCALARS:
        if name in out:
            mean, std = out[name]
            out[name] = (0.0, (std ** 2 + mean ** 2) ** 0.5)
    components = [name for name in VECTOR_COMPONENTS if name in out]
    if components:
        scale = (sum(out[c][1] ** 2 + out[c][0] ** 2 for c in components) / len(components)) ** 0.5
        for c in components:
            out[c] = (0.0, scale)
    return out


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
