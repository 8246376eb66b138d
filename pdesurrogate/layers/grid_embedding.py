"""Grid embedding: the position of every point as extra input channels."""

from __future__ import annotations

import torch
from torch import nn


class GridEmbedding2d(nn.Module):
    """Append ``(x/L, y/L) ∈ [0, 1)²`` at the saved positions ``x_i = i·L/N``.

    The values at a point do not depend on the resolution, so a model trained on one grid sees
    the same embedding at shared points of a finer one.
    """

    channels = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, ny, nx = x.shape
        ys = torch.arange(ny, device=x.device, dtype=x.dtype) / ny
        xs = torch.arange(nx, device=x.device, dtype=x.dtype) / nx
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        grid = torch.stack((grid_x, grid_y)).expand(batch, -1, -1, -1)
        return torch.cat((x, grid), dim=1)
