"""Domain padding for non-periodic data: spectral layers assume periodicity, so a field that is
not periodic is padded with zeros, processed, and cropped back (Li et al. 2021, Sec. 5.4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DomainPadding(nn.Module):
    """Zero-pad the right and bottom edges by ``fraction`` of the size; ``unpad`` crops it off.

    A fraction (not a count) keeps the padded domain proportional, so the layer stays
    resolution independent.
    """

    def __init__(self, fraction: float):
        super().__init__()
        if not 0 <= fraction < 1:
            raise ValueError(f"domain_padding must be in [0, 1) (got {fraction})")
        self.fraction = fraction

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        py, px = (round(self.fraction * n) for n in x.shape[-2:])
        return F.pad(x, (0, px, 0, py)) if (px or py) else x

    def unpad(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return x[..., : size[0], : size[1]]
