"""Grid embedding: the position of every point as extra input channels."""

from __future__ import annotations

import math

import torch
from torch import nn


class GridEmbedding2d(nn.Module):
    """Append the position of each saved point ``x_i = i·L/N`` as channels.

    ``periodic``: ``sin``/``cos`` of ``2πx/L`` and ``2πy/L`` (4 channels). A single Fourier mode
    is continuous across the periodic boundary and exactly representable on every grid, so it
    keeps the FNO resolution independent. ``linear``: ``(x/L, y/L) ∈ [0, 1)`` as in the original
    FNO (2 channels); its jump at the boundary has a slowly decaying spectrum whose aliasing
    makes outputs differ between resolutions by O(1/N) — use it for non-periodic data.

    Either way the values at a point do not depend on the resolution.
    """

    def __init__(self, kind: str = "periodic"):
        super().__init__()
        if kind not in ("periodic", "linear"):
            raise ValueError(f"grid_embedding must be 'periodic', 'linear' or 'none' (got {kind!r})")
        self.kind = kind
        self.channels = 4 if kind == "periodic" else 2

    def extra_repr(self) -> str:
        return self.kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, ny, nx = x.shape
        ys = torch.arange(ny, device=x.device, dtype=x.dtype) / ny
        xs = torch.arange(nx, device=x.device, dtype=x.dtype) / nx
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        if self.kind == "periodic":
            angles = torch.stack((grid_x, grid_y)) * (2 * math.pi)
            grid = torch.cat((angles.sin(), angles.cos()))
        else:
            grid = torch.stack((grid_x, grid_y))
        return torch.cat((x, grid.expand(batch, -1, -1, -1)), dim=1)
